"""The load test's decisions as plain functions of plain numbers: how fast each simulated person acts for an
offered message rate, whether a step was sustained, and which step was the last one that was."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

SEND_P99_LIMIT_MS = 500.0
# A step only counts if the simulated staff acted when their schedule said: a load generator that falls behind (its
# own CPU, or answers slower than the gap between two actions) offers less than the step's rate.
LATE_P99_LIMIT_MS = 1000.0


@dataclass(frozen=True)
class StepOutcome:
    offered_rate: float  # messages per second the simulated staff were paced to send
    achieved_rate: float  # messages per second answered 200 during the step (reported, not judged: arrivals are random)
    send_p99_ms: float
    errors: int  # failed requests of any kind during the step, /sync included
    late_p99_ms: float  # how long after its scheduled time an action started, p99


def step_verdict(step: StepOutcome, p99_limit_ms: float = SEND_P99_LIMIT_MS, late_limit_ms: float = LATE_P99_LIMIT_MS) -> str | None:
    """None when the server sustained the step; otherwise the broken condition, in words."""
    if step.errors:
        return f"{step.errors} failed requests"
    if math.isnan(step.send_p99_ms) or step.send_p99_ms >= p99_limit_ms:
        return f"send p99 {step.send_p99_ms:.0f} ms, not under {p99_limit_ms:.0f} ms"
    if not step.late_p99_ms < late_limit_ms:
        return f"actions started {step.late_p99_ms:.0f} ms late (p99): the offered rate was not reached"
    return None


def last_good_step(steps: Iterable[StepOutcome]) -> int | None:
    """Index of the step before the first one that broke a condition (steps in the order they ran); None if the first
    broke. Steps after a broken one do not count even if they pass: the server has already shown its limit."""
    good = None
    for index, step in enumerate(steps):
        if step_verdict(step) is not None:
            break
        good = index
    return good


def task_rate_per_user(message_rate: float, users: int, message_share: float) -> float:
    """Actions per second each simulated person is paced to, so that together they offer `message_rate` messages
    per second when a share `message_share` of their actions are sends."""
    if users <= 0 or not 0 < message_share <= 1:
        raise ValueError("need at least one user and a message share in (0, 1]")
    return message_rate / users / message_share


def parse_rates(text: str) -> list[float]:
    """'2,4,8' -> [2.0, 4.0, 8.0]: offered message rates, strictly increasing."""
    rates = [float(word) for word in text.split(",") if word.strip()]
    if not rates or any(rate <= 0 for rate in rates) or rates != sorted(set(rates)):
        raise ValueError(f"rates must be positive and increasing, not {text!r}")
    return rates
