"""Synapse adapter for GCMeet: registers the web resources and reads room state for the rules."""

from __future__ import annotations

import logging
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.module_api import ModuleApi

from jitsi_jwt import synapse_adapter
from jitsi_jwt.config import GCMeetConfig, asap_file_name, parse_gcmeet_config
from jitsi_jwt.rules import (
    CHANNEL_MEETINGS_FOR_OWNERS,
    Member,
    avatar_http_url,
    display_name,
    is_joined,
    may_meet_in_channel,
    power_level,
)
from jitsi_jwt.servlets import (
    GCMEET_PREFIX,
    AsapPublicKeyResource,
    TokenResource,
    VerifyUserInRoomResource,
    VerifyUserResource,
)
from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY, marker_from_content
from synapse_modules.common.rate_limit import SharedTokenBucket
from synapse_modules.common.schema_check import require_schema

logger = logging.getLogger(__name__)


class GCMeet:
    def __init__(self, config: GCMeetConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        require_schema(api, 3)
        synapse_adapter.check_openid_tokens_readable(api)
        # Buckets in the database: the limit holds once across every process serving GCMeet.
        token_limits = SharedTokenBucket(api, "gcmeet_token", config.rate_limit_per_minute, config.rate_limit_burst)
        verify_limits = SharedTokenBucket(api, "gcmeet_verify", config.rate_limit_per_minute, config.rate_limit_burst)
        api.register_web_resource(f"{GCMEET_PREFIX}/token", TokenResource(api, config, self, token_limits))
        api.register_web_resource(f"{GCMEET_PREFIX}/verify/user_in_room", VerifyUserInRoomResource(api, self, verify_limits))
        api.register_web_resource(f"{GCMEET_PREFIX}/verify/user", VerifyUserResource(api, self))
        if config.signing.public_pem and config.signing.kid:
            resource = AsapPublicKeyResource(asap_file_name(config.signing.kid), config.signing.public_pem)
            api.register_web_resource(f"{GCMEET_PREFIX}/asap", resource)
        logger.info("GCMeet issues %s tokens for %s", config.signing.algorithm, config.domain)

    @staticmethod
    def parse_config(config: dict[str, Any]) -> GCMeetConfig:
        return parse_gcmeet_config(config)

    async def openid_token_owner(self, token: str) -> str | None:
        """The token's active owner: an OpenID token outlives its owner's deactivation, its answer does not."""
        user_id = await synapse_adapter.openid_token_owner(self._api, token, self._api.get_current_time_msec())
        if user_id is None:
            return None
        info = await self._api.get_userinfo_by_id(user_id)
        return user_id if info is not None and not info.is_deactivated else None

    async def joined_member(self, room_id: str, user_id: str) -> tuple[Member | None, dict[str, Any] | None]:
        """The user as a joined member of the room (None otherwise), and the room's power levels.

        In a public channel a joined member who is not an owner is refused outright (403).
        """
        marker_key = (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY)
        state = await self._api.get_room_state(
            room_id,
            [("m.room.member", user_id), ("m.room.power_levels", ""), ("m.room.create", ""), marker_key],
        )
        member_event = state.get(("m.room.member", user_id))
        member_content = dict(member_event.content) if member_event is not None else None
        if not is_joined(member_content):
            return None, None
        marker_event = state.get(marker_key)
        owners = marker_from_content(marker_event.content).owners if marker_event is not None else None
        if not may_meet_in_channel(user_id, owners):
            raise SynapseError(403, CHANNEL_MEETINGS_FOR_OWNERS, Codes.FORBIDDEN)
        levels_event = state.get(("m.room.power_levels", ""))
        levels = dict(levels_event.content) if levels_event is not None else None
        creators, outrank = synapse_adapter.creators_of(state.get(("m.room.create", "")))
        member = Member(
            user_id=user_id,
            display_name=display_name(user_id, member_content),
            avatar_url=avatar_http_url(self._api.public_baseurl, member_content),
            power_level=power_level(user_id, levels, creators, outrank),
        )
        return member, levels
