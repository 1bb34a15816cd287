"""The load test's step decisions (bench/load_steps.py): what counts as a sustained step, and which one is reported."""

from __future__ import annotations

import math

import pytest

from bench.load_steps import StepOutcome as Step
from bench.load_steps import last_good_step, parse_rates, step_verdict, task_rate_per_user


def step(rate: float, p99: float = 100.0, errors: int = 0, late: float = 50.0) -> Step:
    return Step(offered_rate=rate, achieved_rate=rate, send_p99_ms=p99, errors=errors, late_p99_ms=late)


def test_a_step_under_500_ms_p99_without_errors_on_schedule_is_sustained() -> None:
    assert step_verdict(step(10, p99=499.9)) is None


@pytest.mark.parametrize(
    "broken",
    [step(10, p99=500.0), step(10, p99=2000.0), step(10, p99=math.nan), step(10, errors=1), step(10, late=1000.0), step(10, late=math.nan)],
    ids=["p99 at the limit", "p99 over", "no send measured", "one failed request", "generator behind", "no pacing measured"],
)
def test_a_step_breaking_any_condition_is_not_sustained(broken: Step) -> None:
    assert step_verdict(broken) is not None


def test_the_last_good_step_is_the_one_before_the_first_broken_one() -> None:
    steps = [step(2), step(4), step(8, p99=700.0), step(16)]
    assert last_good_step(steps) == 1


def test_a_later_step_that_passes_again_does_not_count() -> None:
    steps = [step(2), step(4, errors=3), step(8), step(16)]
    assert last_good_step(steps) == 0


def test_no_good_step_when_the_first_breaks_and_the_last_when_none_breaks() -> None:
    assert last_good_step([step(2, errors=1), step(4)]) is None
    assert last_good_step([step(2), step(4), step(8)]) == 2
    assert last_good_step([]) is None


def test_each_person_is_paced_so_that_all_together_offer_the_message_rate() -> None:
    # 20 people, 70 % of actions are sends: 14 msg/s need 1 action per second each.
    assert task_rate_per_user(14, 20, 0.7) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        task_rate_per_user(14, 0, 0.7)


def test_rates_must_be_positive_and_increasing() -> None:
    assert parse_rates("2, 4,8") == [2.0, 4.0, 8.0]
    for wrong in ("", "4,2", "2,2", "0,2", "-1"):
        with pytest.raises(ValueError):
            parse_rates(wrong)
