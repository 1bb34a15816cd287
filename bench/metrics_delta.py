"""Where a Synapse process spent its time between two scrapes of its Prometheus metrics listener.

Synapse counts CPU and wall time per servlet, database time per transaction name and CPU per background
process; the difference of two scrapes says what a load did, grouped by one label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import requests
from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TIMEOUT_SECONDS = 10

# A sample's name and its labels, sorted, e.g. ("synapse_storage_transaction_time_sum_total", (("desc", "x"), ...)).
SampleKey = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[SampleKey, float]

# Synapse 1.163's names (counters are exposed with `_total`).
SERVLET_CPU = ("synapse_http_server_response_ru_utime_seconds_total", "synapse_http_server_response_ru_stime_seconds_total")
SERVLET_COUNT = ("synapse_http_server_response_time_seconds_count",)
DB_TXN_TIME = ("synapse_storage_transaction_time_sum_total",)
BACKGROUND_CPU = ("synapse_background_process_ru_utime_seconds_total", "synapse_background_process_ru_stime_seconds_total")


def parse_samples(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def scrape(port: int) -> Samples:
    answer = requests.get(f"http://127.0.0.1:{port}/_synapse/metrics", timeout=SCRAPE_TIMEOUT_SECONDS)
    answer.raise_for_status()
    return parse_samples(answer.text)


def growth(before: Samples, after: Samples, names: Iterable[str], label: str) -> dict[str, float]:
    """How much the samples called `names` grew, summed per value of `label` (a counter that is new counts from 0)."""
    wanted = set(names)
    grown: dict[str, float] = defaultdict(float)
    for key, value in after.items():
        name, labels = key
        if name in wanted:
            grown[dict(labels).get(label, "")] += value - before.get(key, 0.0)
    return {group: amount for group, amount in grown.items() if amount > 0}


def top(amounts: dict[str, float], count: int) -> list[tuple[str, float]]:
    """The `count` largest amounts, largest first (ties by name, so a report is stable)."""
    return sorted(amounts.items(), key=lambda item: (-item[1], item[0]))[:count]
