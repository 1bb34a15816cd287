"""The directory module's table (its one read of Synapse's `users` table is in `synapse_adapter`).

`govchat_directory_names` records, for each user who registered through a
directory, the name the directory gave: the display name that is locked.
Which account holds which address comes from GovChat's own record
(`govchat_email_accounts`), not from what users can change; whether it is active
from Synapse's `users` table, read in `synapse_adapter`. Kept in the database so
every worker sees the same records.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.directory import synapse_adapter
from synapse_modules.directory.rules import Account
from synapse_modules.govchat_auth.store import EmailAccountStore


class DirectoryStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api
        self._mailboxes = EmailAccountStore(api)

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
        """Every active (not deactivated) local user with an e-mail address bound in GovChat's record."""
        await self._mailboxes.bound_accounts()  # creates GovChat's record if no one has registered yet
        return await self._api.run_db_interaction("govchat_directory_email_accounts", synapse_adapter.active_bound_accounts)
