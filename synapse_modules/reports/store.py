"""What the report counts, read from Synapse's database (written against Synapse 1.163).

Synapse's `users` table says whether an account is deactivated, not since when,
so this module records the moment itself (`govchat_user_deactivations`, from the
`on_user_deactivation_status_changed` callback). Accounts deactivated before the
module was installed have no recorded moment and count as gone in every month.
Channels are rooms whose current state holds the channel marker; their creation
time is their `m.room.create` event's. Only this file reads Synapse's schema.
"""

from __future__ import annotations

import json
from typing import Any

from synapse.module_api import ModuleApi

from govchat.agencies import Agency
from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY, marker_from_content
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

        def select(txn: Any) -> list[tuple[Any, ...]]:
            txn.execute(
                "SELECT a.agency_domain, a.agency_name, a.ministry, COUNT(*)"
                " FROM govchat_user_agencies a JOIN users u ON u.name = a.user_id"
                " LEFT JOIN govchat_user_deactivations d ON d.user_id = a.user_id"
                " WHERE u.creation_ts * 1000 < ? AND (u.deactivated = 0 OR d.deactivated_ts >= ?)"
                " GROUP BY a.agency_domain, a.agency_name, a.ministry",
                (end_ms, end_ms),
            )
            return list(txn.fetchall())

        rows = await self._api.run_db_interaction("govchat_report_users", select)
        counts: dict[Agency, int] = {}
        for domain, name, ministry, count in rows:
            agency = Agency(domain=domain, name=name, ministry=ministry)
            counts[agency] = counts.get(agency, 0) + int(count)
        return counts

    async def channels_created_before(self, end_ms: int) -> list[ChannelFacts]:
        def select(txn: Any) -> list[tuple[Any, ...]]:
            txn.execute(
                "SELECT c.room_id, j.json FROM current_state_events c"
                " JOIN event_json j ON j.event_id = c.event_id"
                " JOIN current_state_events cc ON cc.room_id = c.room_id AND cc.type = 'm.room.create' AND cc.state_key = ''"
                " JOIN events ce ON ce.event_id = cc.event_id"
                " WHERE c.type = ? AND c.state_key = ? AND ce.origin_server_ts < ?"
                " ORDER BY c.room_id",
                (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY, end_ms),
            )
            return list(txn.fetchall())

        channels = []
        for room_id, event_json in await self._api.run_db_interaction("govchat_report_channels", select):
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
