"""Prometheus gauges for applications, in Synapse's default registry (served by its metrics listener).

Set by the process that runs background tasks only (see module.py): every
worker would otherwise report the same totals and a sum over workers would count
them twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Gauge

from synapse_modules.applications import forms, workflow

APPLICATIONS = Gauge("govchat_applications", "GovChat applications (forms A4-A6) by kind and state", ["kind", "state"])
OVERDUE = Gauge(
    "govchat_applications_overdue",
    "GovChat applications waiting for the head or an administrator longer than applications.review_period_days",
    ["kind"],
)


def publish(by_state: Iterable[tuple[str, str, int]], overdue: Iterable[tuple[str, int]]) -> None:
    counts = {(kind, state): count for kind, state, count in by_state}
    late = dict(overdue)
    # Every combination is set, zeros included, so a state that empties drops to 0 rather than vanishing.
    for kind in forms.KINDS:
        for state in workflow.STATES:
            APPLICATIONS.labels(kind=kind, state=state).set(counts.get((kind, state), 0))
        OVERDUE.labels(kind=kind).set(late.get(kind, 0))
