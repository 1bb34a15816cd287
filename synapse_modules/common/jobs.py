"""Background jobs that run once at a time across every Synapse process.

Periodic jobs are started with `looping_background_call`, which runs only on the
process named by `run_background_tasks_on`; a job that can also be started by an
administrator (the directory sync) would still run beside it. So each run takes
a lease in `govchat_job_leases` first (a conditional upsert: only a free or
expired lease is taken), renews it every third of its length while it runs (so a
long run keeps it, and a process that dies lets it expire), and records itself in `govchat_job_runs` (and the
`govchat_job_runs_total` counter), which tests and operators count.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prometheus_client import Counter
from synapse.module_api import ModuleApi

logger = logging.getLogger(__name__)

RUNS = Counter("govchat_job_runs_total", "GovChat background job runs started, by job and trigger", ["job", "trigger"])

T = TypeVar("T")


class JobBusy(Exception):
    """Another process (or request) holds the job's lease."""


def holder_name(api: ModuleApi) -> str:
    return f"{api.worker_name or 'main'}/{secrets.token_hex(6)}"


async def run_exclusive(
    api: ModuleApi, job: str, lease_ms: int, trigger: str, function: Callable[[], Awaitable[T]]
) -> T:
    """Run `function` holding the job's lease; JobBusy if someone else holds it."""
    holder = holder_name(api)
    if not await api.run_db_interaction("govchat_take_lease", _take_lease, job, holder, _now_ms(), lease_ms):
        raise JobBusy(job)
    RUNS.labels(job=job, trigger=trigger).inc()
    finished: list[bool] = []
    api.run_as_background_process(f"govchat_lease_{job}", _keep_renewing, api, job, holder, lease_ms, finished)
    try:
        await api.run_db_interaction("govchat_job_started", _record_start, job, holder, _now_ms())
        result = await function()
        await api.run_db_interaction("govchat_job_finished", _record_finish, job, _now_ms())
        return result
    finally:
        finished.append(True)
        await api.run_db_interaction("govchat_release_lease", _release_lease, job, holder)


async def _keep_renewing(api: ModuleApi, job: str, holder: str, lease_ms: int, finished: list[bool]) -> None:
    while not finished:
        await api.sleep(lease_ms / 3000)
        if finished:
            return
        try:
            # Only our own lease: after the release (or if it was lost) this changes nothing.
            await api.run_db_interaction("govchat_renew_lease", _renew_lease, job, holder, _now_ms() + lease_ms)
        except Exception:
            logger.warning("Could not renew the %s lease; retrying", job, exc_info=True)


async def job_runs(api: ModuleApi, job: str) -> int:
    """How many runs of `job` have started, over every process since the table was created."""

    def select(txn: Any) -> int:
        txn.execute("SELECT runs FROM govchat_job_runs WHERE job = ?", (job,))
        row = txn.fetchone()
        return int(row[0]) if row else 0

    return int(await api.run_db_interaction("govchat_job_runs", select))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _take_lease(txn: Any, job: str, holder: str, now: int, lease_ms: int) -> bool:
    txn.execute(
        "INSERT INTO govchat_job_leases (job, holder, expires_ts) VALUES (?, ?, ?)"
        " ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_ts = excluded.expires_ts"
        " WHERE govchat_job_leases.expires_ts < ?",
        (job, holder, now + lease_ms, now),
    )
    return bool(txn.rowcount == 1)


def _renew_lease(txn: Any, job: str, holder: str, expires_ts: int) -> None:
    txn.execute("UPDATE govchat_job_leases SET expires_ts = ? WHERE job = ? AND holder = ?", (expires_ts, job, holder))


def _release_lease(txn: Any, job: str, holder: str) -> None:
    txn.execute("DELETE FROM govchat_job_leases WHERE job = ? AND holder = ?", (job, holder))


def _record_start(txn: Any, job: str, holder: str, now: int) -> None:
    txn.execute(
        "INSERT INTO govchat_job_runs (job, runs, last_started_ts, last_finished_ts, last_holder) VALUES (?, 1, ?, NULL, ?)"
        " ON CONFLICT (job) DO UPDATE SET runs = govchat_job_runs.runs + 1,"
        " last_started_ts = excluded.last_started_ts, last_holder = excluded.last_holder",
        (job, now, holder),
    )


def _record_finish(txn: Any, job: str, now: int) -> None:
    txn.execute("UPDATE govchat_job_runs SET last_finished_ts = ? WHERE job = ?", (now, job))
