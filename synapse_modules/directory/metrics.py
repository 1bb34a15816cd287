"""Prometheus counters, in Synapse's default registry (what its metrics listener serves)."""

from __future__ import annotations

from prometheus_client import Counter

SYNC_DEACTIVATED = Counter(
    "govchat_directory_sync_deactivated_total",
    "Accounts the directory sync deactivated because their entry was gone or disabled",
    ["reason"],
)
SYNC_ERRORS = Counter(
    "govchat_directory_sync_errors_total",
    "Directory sync failures: a directory that could not be read, or a deactivation that failed",
    ["kind"],
)
SYNC_RUNS = Counter(
    "govchat_directory_sync_runs_total",
    "Directory sync runs, by how they were started",
    ["trigger"],
)
REGISTRATION_LOOKUPS = Counter(
    "govchat_directory_registration_lookups_total",
    "Directory look-ups for registering addresses, by outcome",
    ["outcome"],
)
