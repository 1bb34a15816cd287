"""Read-only queries on Synapse's own tables that the module API does not offer.

Written against Synapse 1.163 (tables `current_state_events`,
`local_current_membership`, `users`); this file is the only place the module
reads Synapse's schema. Nothing is cached in memory: every process asks the
database, so any worker sees the same channels and members.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY


class ChannelStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def channel_room_ids(self) -> list[str]:
        def select(txn: Any) -> list[str]:
            txn.execute(
                "SELECT room_id FROM current_state_events WHERE type = ? AND state_key = ? ORDER BY room_id",
                (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY),
            )
            return [row[0] for row in txn.fetchall()]

        return await self._api.run_db_interaction("govchat_channel_room_ids", select)

    async def joined_member_count(self, room_id: str) -> int:
        def count(txn: Any) -> int:
            txn.execute(
                "SELECT COUNT(*) FROM local_current_membership WHERE room_id = ? AND membership = 'join'",
                (room_id,),
            )
            return int(txn.fetchone()[0])

        return await self._api.run_db_interaction("govchat_channel_member_count", count)

    async def users_missing_from(self, room_id: str, rejoin_leavers: bool, after: str, limit: int) -> list[str]:
        """Active local users after `after` (by ID) who should be in the room but are not: never joined, or (if asked) left."""
        skipped = ("join", "ban", "leave") if not rejoin_leavers else ("join", "ban")
        placeholders = ", ".join("?" for _ in skipped)

        def select(txn: Any) -> list[str]:
            txn.execute(
                "SELECT name FROM users WHERE name > ? AND deactivated = 0 AND COALESCE(is_guest, 0) = 0"
                " AND appservice_id IS NULL AND name NOT IN ("
                f"  SELECT user_id FROM local_current_membership WHERE room_id = ? AND membership IN ({placeholders})"
                ") ORDER BY name LIMIT ?",
                (after, room_id, *skipped, limit),
            )
            return [row[0] for row in txn.fetchall()]

        return await self._api.run_db_interaction("govchat_users_missing_from_room", select)
