"""What the channel service asks of Synapse's database; the queries are in `synapse_adapter`."""

from __future__ import annotations

from synapse.module_api import ModuleApi

from synapse_modules.public_channels import synapse_adapter


class ChannelStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def channel_room_ids(self) -> list[str]:
        return await self._api.run_db_interaction("govchat_channel_room_ids", synapse_adapter.channel_room_ids)

    async def joined_member_count(self, room_id: str) -> int:
        return await self._api.run_db_interaction("govchat_channel_member_count", synapse_adapter.joined_member_count, room_id)

    async def users_missing_from(self, room_id: str, rejoin_leavers: bool, after: str, limit: int) -> list[str]:
        """Active local users after `after` (by ID) who should be in the room but are not: never joined, or (if asked) left."""
        skipped = ("join", "ban", "leave") if not rejoin_leavers else ("join", "ban")
        return await self._api.run_db_interaction(
            "govchat_users_missing_from_room", synapse_adapter.users_missing_from, room_id, skipped, after, limit
        )
