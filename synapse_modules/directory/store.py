"""The directory module's table, and the few reads of Synapse's own tables it needs.

`govchat_directory_names` records, for each user who registered through a
directory, the name the directory gave: the display name that is locked.
Written against Synapse 1.163 (tables `users`, `user_threepids`); kept in the
database so every worker sees the same records.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.directory.rules import Account


class DirectoryStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def record_name(self, user_id: str, email: str, display_name: str, locked: bool, now_ms: int) -> None:

        def upsert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_directory_names (user_id, email, display_name, locked, recorded_ts)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " email = excluded.email, display_name = excluded.display_name,"
                " locked = excluded.locked, recorded_ts = excluded.recorded_ts",
                (user_id, email, display_name, 1 if locked else 0, now_ms),  # SMALLINT: no BOOLEAN on both engines
            )

        await self._api.run_db_interaction("govchat_directory_record_name", upsert)

    async def locked_name(self, user_id: str) -> str | None:
        """The directory name a user may not change, or None if their name is not locked."""

        def select(txn: Any) -> str | None:
            txn.execute("SELECT display_name, locked FROM govchat_directory_names WHERE user_id = ?", (user_id,))
            row = txn.fetchone()
            return str(row[0]) if row is not None and row[1] else None

        return await self._api.run_db_interaction("govchat_directory_locked_name", select)

    async def active_email_accounts(self) -> list[Account]:
        """Every active (not deactivated) local user with a bound e-mail address."""

        def select(txn: Any) -> list[Account]:
            txn.execute(
                "SELECT t.user_id, t.address FROM user_threepids t JOIN users u ON u.name = t.user_id"
                " WHERE t.medium = 'email' AND u.deactivated = 0 ORDER BY t.user_id"
            )
            return [Account(user_id=row[0], email=str(row[1]).lower()) for row in txn.fetchall()]

        return await self._api.run_db_interaction("govchat_directory_email_accounts", select)
