"""Joins to INFO owed to newly registered users: rows of `govchat_info_joins`, never only in memory.

A row is written while Synapse registers the user (`on_user_registration`,
before it returns), so a process that dies right after a registration loses
nothing: the background-tasks process drains the table every second, and the
periodic INFO sweep catches whoever is still missing.
SQL runs on SQLite and PostgreSQL; the table is created by `govchat/schema.py`.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

# The registering process tries at once; the drainer takes a row only if that has not worked by then.
FIRST_DRAIN_DELAY_MS = 10_000


def retry_delay_ms(attempts: int) -> int:
    """1 s, 2 s, 4 s, ... at most 5 minutes after the `attempts`-th failed join."""
    return int(min(300_000, 1_000 * 2 ** max(0, min(attempts - 1, 20))))


class InfoJoinQueue:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def add(self, user_id: str, now_ms: int) -> None:
        def insert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_info_joins (user_id, queued_ts, attempts, next_attempt_ts) VALUES (?, ?, 0, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, now_ms, now_ms + FIRST_DRAIN_DELAY_MS),
            )

        await self._api.run_db_interaction("govchat_info_join_queue_add", insert)

    async def due(self, now_ms: int, limit: int) -> list[str]:
        def select(txn: Any) -> list[str]:
            txn.execute(
                "SELECT user_id FROM govchat_info_joins WHERE next_attempt_ts <= ? ORDER BY next_attempt_ts LIMIT ?",
                (now_ms, limit),
            )
            return [row[0] for row in txn.fetchall()]

        return list(await self._api.run_db_interaction("govchat_info_join_queue_due", select))

    async def due_now(self, user_id: str, now_ms: int) -> None:
        """Bring a queued join forward to the next drain (its registering process is busy joining others)."""
        await self._api.run_db_interaction(
            "govchat_info_join_queue_due_now",
            lambda txn: txn.execute("UPDATE govchat_info_joins SET next_attempt_ts = ? WHERE user_id = ? AND attempts = 0", (now_ms, user_id)),
        )

    async def done(self, user_id: str) -> None:
        await self._api.run_db_interaction(
            "govchat_info_join_queue_done", lambda txn: txn.execute("DELETE FROM govchat_info_joins WHERE user_id = ?", (user_id,))
        )

    async def failed(self, user_id: str, error: str, now_ms: int) -> None:
        def update(txn: Any) -> None:
            txn.execute("SELECT attempts FROM govchat_info_joins WHERE user_id = ?", (user_id,))
            row = txn.fetchone()
            if row is None:
                return
            attempts = int(row[0]) + 1
            txn.execute(
                "UPDATE govchat_info_joins SET attempts = ?, next_attempt_ts = ?, last_error = ? WHERE user_id = ?",
                (attempts, now_ms + retry_delay_ms(attempts), error[:500], user_id),
            )

        await self._api.run_db_interaction("govchat_info_join_queue_failed", update)

    async def pending(self) -> int:
        def count(txn: Any) -> int:
            txn.execute("SELECT COUNT(*) FROM govchat_info_joins")
            return int(txn.fetchone()[0])

        return int(await self._api.run_db_interaction("govchat_info_join_queue_count", count))
