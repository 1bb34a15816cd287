"""What the report counts, from GovChat's tables and (through `synapse_adapter`) Synapse's.

Synapse's `users` table says whether an account is deactivated, not since when,
so this module records the moment itself (`govchat_user_deactivations`, from the
`on_user_deactivation_status_changed` callback). Accounts deactivated before the
module was installed have no recorded moment and count as gone in every month.
Channels are rooms whose current state holds the channel marker; their creation
time is their `m.room.create` event's. Only `synapse_adapter` reads Synapse's schema.
"""

from __future__ import annotations

import json
from typing import Any

from synapse.module_api import ModuleApi

from govchat.agencies import Agency
from synapse_modules.common.channels import marker_from_content
from synapse_modules.reports import synapse_adapter
from synapse_modules.reports.report import ChannelFacts


class ReportStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def record_deactivation(self, user_id: str, deactivated: bool, now_ms: int) -> None:
        def write(txn: Any) -> None:
            if not deactivated:
                txn.execute("DELETE FROM govchat_user_deactivations WHERE user_id = ?", (user_id,))
                return
            # An upsert, not delete-then-insert: two processes recording at once cannot collide.
            txn.execute(
                "INSERT INTO govchat_user_deactivations (user_id, deactivated_ts) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET deactivated_ts = excluded.deactivated_ts",
                (user_id, now_ms),
            )

        await self._api.run_db_interaction("govchat_record_deactivation", write)

    async def users_by_agency(self, end_ms: int) -> dict[Agency, int]:
        """Accounts with a recorded agency, created before `end_ms` and not deactivated at `end_ms`."""
        rows = await self._api.run_db_interaction("govchat_report_users", synapse_adapter.users_by_agency, end_ms)
        counts: dict[Agency, int] = {}
        for domain, name, ministry, count in rows:
            agency = Agency(domain=domain, name=name, ministry=ministry)
            counts[agency] = counts.get(agency, 0) + int(count)
        return counts

    async def channels_created_before(self, end_ms: int) -> list[ChannelFacts]:
        channels = []
        rows = await self._api.run_db_interaction("govchat_report_channels", synapse_adapter.channel_markers_created_before, end_ms)
        for room_id, event_json in rows:
            try:
                content = json.loads(event_json).get("content", {})
            except (TypeError, ValueError, AttributeError):
                content = {}
            marker = marker_from_content(content if isinstance(content, dict) else {})
            channels.append(ChannelFacts(room_id=room_id, owners=marker.owners, archived=marker.archived))
        return channels

    async def agencies_of(self, user_ids: set[str]) -> dict[str, Agency]:
        if not user_ids:
            return {}
        wanted = sorted(user_ids)

        def select(txn: Any) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = []
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                placeholders = ", ".join("?" for _ in batch)
                txn.execute(
                    f"SELECT user_id, agency_domain, agency_name, ministry FROM govchat_user_agencies WHERE user_id IN ({placeholders})",
                    batch,
                )
                rows.extend(txn.fetchall())
            return rows

        rows = await self._api.run_db_interaction("govchat_report_owner_agencies", select)
        return {row[0]: Agency(domain=row[1], name=row[2], ministry=row[3]) for row in rows}
