"""Prometheus metrics for content reports, in Synapse's default registry (served by its metrics listener).

Set by the process that runs background tasks only: it is the one that takes reports
in, and every worker would otherwise report the same totals.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from synapse_modules.content_reports import rules

ITEMS = Gauge("govchat_content_reports", "GovChat content-report queue items by state", ["state"])
HELD = Gauge("govchat_content_reports_held", "Reports held because their reporter went over the rate limit")
RECEIVED = Counter(
    "govchat_content_reports_received_total",
    "Reports taken in from Synapse, by subject and outcome (new item, added to an item, held)",
    ["subject", "outcome"],
)
INTAKE_UP = Gauge(
    "govchat_content_reports_intake_up", "1 while reports are being taken in; 0 if the start-up self-test failed"
)


def publish(by_state: dict[str, int], held: int) -> None:
    for state in rules.STATES:
        ITEMS.labels(state=state).set(by_state.get(state, 0))
    HELD.set(held)
