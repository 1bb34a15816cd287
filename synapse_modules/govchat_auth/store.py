"""Each user's agency, kept in Synapse's own database beside the accounts.

The agency is recorded once, when the e-mail is bound at registration, so the
monthly report keeps counting people where they registered even if the agency
list changes later. Kept in the database (not in memory) so every Synapse
worker sees the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api import ModuleApi

from govchat.agencies import Agency


@dataclass(frozen=True)
class UserAgency:
    user_id: str
    email: str
    agency: Agency
    recorded_ts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "agency": self.agency.as_dict(),
            "recorded_ts": self.recorded_ts,
        }


class UserAgencyStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def record(self, user_id: str, email: str, agency: Agency, now_ms: int) -> None:
        """Record the user's agency unless one is already recorded."""

        def insert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_user_agencies"
                " (user_id, email, agency_domain, agency_name, ministry, recorded_ts)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, email, agency.domain, agency.name, agency.ministry, now_ms),
            )

        await self._api.run_db_interaction("govchat_record_user_agency", insert)

    async def page(self, after_user_id: str, limit: int) -> list[UserAgency]:
        """Up to `limit` records ordered by user ID, starting after `after_user_id`."""

        def select(txn: Any) -> list[tuple[Any, ...]]:
            txn.execute(
                "SELECT user_id, email, agency_domain, agency_name, ministry, recorded_ts"
                " FROM govchat_user_agencies WHERE user_id > ? ORDER BY user_id LIMIT ?",
                (after_user_id, limit),
            )
            return list(txn.fetchall())

        rows = await self._api.run_db_interaction("govchat_list_user_agencies", select)
        return [
            UserAgency(
                user_id=row[0],
                email=row[1],
                agency=Agency(domain=row[2], name=row[3], ministry=row[4]),
                recorded_ts=int(row[5]),
            )
            for row in rows
        ]
