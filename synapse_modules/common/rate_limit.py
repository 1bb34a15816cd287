"""Per-user token buckets shared by every Synapse process (`govchat_rate_buckets`).

A bucket in one process's memory would let a user through N times as often with
N client workers. Here a bucket is a database row, read and written in one
transaction: on PostgreSQL two processes taking from one bucket at once make
one of them fail to serialize, and Synapse's `run_db_interaction` retries it;
SQLite serializes writers anyway. Tokens are kept in thousandths (BIGINT), time
in wall-clock milliseconds, so every process computes the same refill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from synapse.module_api import ModuleApi

MILLI = 1000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    millitokens: int
    retry_after_ms: int


def take(millitokens: int | None, updated_ts: int | None, now_ms: int, per_minute: int, burst: int, period_ms: int = 60_000) -> Decision:
    """Take one token from a bucket last left at `millitokens` at `updated_ts` (None: a new, full bucket).
    The bucket refills `per_minute` tokens every `period_ms` (a minute unless said otherwise)."""
    full = burst * MILLI
    if millitokens is None or updated_ts is None:
        current = full
    else:
        refill = max(0, now_ms - updated_ts) * per_minute * MILLI // period_ms
        current = min(full, millitokens + refill)
    if current >= MILLI:
        return Decision(True, current - MILLI, 0)
    missing = MILLI - current
    return Decision(False, current, -(-missing * period_ms // (per_minute * MILLI)))


class SharedTokenBucket:
    """`allow(key)` against one named bucket per key (e.g. per user), the same on every process."""

    def __init__(self, api: ModuleApi, name: str, per_minute: int, burst: int, period_ms: int = 60_000) -> None:
        self._api = api
        self._name = name
        self._per_minute = per_minute
        self._burst = burst
        self._period_ms = period_ms

    async def allow(self, key: str) -> Decision:
        def take_one(txn: Any) -> Decision:
            now = int(time.time() * 1000)
            txn.execute("SELECT millitokens, updated_ts FROM govchat_rate_buckets WHERE bucket = ? AND key = ?", (self._name, key))
            row = txn.fetchone()
            decision = take(int(row[0]) if row else None, int(row[1]) if row else None, now, self._per_minute, self._burst, self._period_ms)
            if decision.allowed:
                # A refusal writes nothing, so sub-token refills are never rounded away.
                txn.execute(
                    "INSERT INTO govchat_rate_buckets (bucket, key, millitokens, updated_ts) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (bucket, key) DO UPDATE SET millitokens = excluded.millitokens, updated_ts = excluded.updated_ts",
                    (self._name, key, decision.millitokens, now),
                )
            return decision

        decision: Decision = await self._api.run_db_interaction(f"govchat_rate_{self._name}", take_one)
        return decision
