"""Creating and running channels: the plain Python API behind the HTTP API and start-up.

A later administration workflow creates a channel for an approved application with
`await service.create_channel(NewChannel(name=..., alias_localpart=..., topic=..., owners=(applicant,)))`;
it raises `InvalidRequest` (naming the field) before creating anything.

Owners live in room state only: the marker's content is the authority, and the
power levels mirror it so that Synapse's own checks and clients agree.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from synapse.api.errors import NotFoundError, SynapseError
from synapse.module_api import ModuleApi

from synapse_modules.common.channels import (
    CHANNEL_MARKER_EVENT_TYPE,
    CHANNEL_MARKER_STATE_KEY,
    INFO_ALIAS_LOCALPART,
    SYSTEM_USER_LOCALPART,
    ChannelMarker,
    info_alias,
    marker_from_content,
    system_user_id,
)
from synapse_modules.common.synapse_internals import join_without_rate_limit
from synapse_modules.public_channels.config import PublicChannelsConfig
from synapse_modules.public_channels.join_queue import InfoJoinQueue
from synapse_modules.public_channels.requests import (
    InvalidRequest,
    NewChannel,
    alias_taken,
    parse_user_id,
    unknown_user,
)
from synapse_modules.public_channels.store import ChannelStore

logger = logging.getLogger(__name__)

CHANNEL_ROOM_VERSION = "12"
OWNER_POWER_LEVEL = 50
SYSTEM_POWER_LEVEL = 100
SYSTEM_DISPLAY_NAME = "GovChat"
JOIN_BATCH_SIZE = 500
JOIN_QUEUE_BATCH = 100


class ChannelNotFound(Exception):
    """No channel is known by this room ID or alias."""


def channel_power_levels(owners: frozenset[str] | tuple[str, ...], archived: bool = False) -> dict[str, Any]:
    """Power levels mirroring the rule table: owners (50) post, members (0) read, settings need 100.

    The system user is the room's creator, which in room version 12 outranks every
    power level and must not be listed in `users`.
    """
    speak = SYSTEM_POWER_LEVEL if archived else OWNER_POWER_LEVEL
    return {
        "users": {} if archived else {owner: OWNER_POWER_LEVEL for owner in sorted(owners)},
        "users_default": 0,
        "events_default": speak,
        "state_default": SYSTEM_POWER_LEVEL,
        "invite": speak,
        "redact": speak,
        "kick": SYSTEM_POWER_LEVEL,
        "ban": SYSTEM_POWER_LEVEL,
        "events": {
            "m.room.name": speak,
            "m.room.topic": speak,
            "m.room.avatar": speak,
            "m.room.pinned_events": speak,
            "m.room.power_levels": SYSTEM_POWER_LEVEL,
            "m.room.join_rules": SYSTEM_POWER_LEVEL,
            "m.room.history_visibility": SYSTEM_POWER_LEVEL,
            "m.room.encryption": SYSTEM_POWER_LEVEL,
            "m.room.canonical_alias": SYSTEM_POWER_LEVEL,
            "m.room.server_acl": SYSTEM_POWER_LEVEL,
            "m.room.tombstone": SYSTEM_POWER_LEVEL,
            CHANNEL_MARKER_EVENT_TYPE: SYSTEM_POWER_LEVEL,
        },
        "notifications": {"room": speak},
    }


@dataclass(frozen=True)
class Channel:
    room_id: str
    marker: ChannelMarker


class ChannelService:
    def __init__(self, api: ModuleApi, config: PublicChannelsConfig, store: ChannelStore) -> None:
        self._api = api
        self._config = config
        self._store = store
        self.join_queue = InfoJoinQueue(api)
        self._info_joins_running = 0  # this process's own INFO joins in progress: a throttle, the queue is the record
        self.server_name = api.server_name
        self.system_user = system_user_id(api.server_name)

    # --- creating -------------------------------------------------------------

    async def create_channel(self, new: NewChannel, is_info: bool = False) -> dict[str, Any]:
        """Create a published channel with its owners joined; validates everything first."""
        for owner in new.owners:
            if not await self._user_exists(owner):
                raise unknown_user("owners", owner)
        alias = new.alias(self.server_name)
        if await self._resolve_alias(alias) is not None:
            raise alias_taken(alias)
        await self.ensure_system_user()
        marker = ChannelMarker(owners=frozenset(new.owners), is_info=is_info)
        room_config = {
            # Pinned, not the server default: channel_power_levels relies on its creator rules.
            "room_version": CHANNEL_ROOM_VERSION,
            "preset": "public_chat",
            "visibility": "public",
            "name": new.name,
            "topic": new.topic,
            "room_alias_name": new.alias_localpart,
            "power_level_content_override": channel_power_levels(new.owners),
            "initial_state": [
                {"type": CHANNEL_MARKER_EVENT_TYPE, "state_key": CHANNEL_MARKER_STATE_KEY, "content": marker.as_content()},
                # Public broadcast: members read the whole history, including what came before they joined.
                {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "shared"}},
            ],
        }
        try:
            room_id, _ = await self._api.create_room(
                self.system_user, room_config, ratelimit=False, creator_join_profile={"displayname": SYSTEM_DISPLAY_NAME}
            )
        except SynapseError as error:
            if "alias" in str(error.msg).lower():  # lost a race for the alias
                raise alias_taken(alias) from None
            raise
        # Synapse's default room_list_publication_rules publish only for server administrators,
        # which the system user is not; publish explicitly.
        await self._api.public_room_list_manager.add_room_to_public_room_list(room_id)
        for owner in new.owners:
            await self._join(owner, room_id)
        logger.info("Created channel %s (%s) with owners %s", alias, room_id, ", ".join(new.owners) or "none")
        return await self.describe(Channel(room_id, marker))

    async def _user_exists(self, user_id: str) -> bool:
        # Not `api.check_user_exists`: that is the login handler's look-up, which logs "Attempted to login as
        # ... but they do not exist" for every miss, e.g. the system user's check before it is first registered.
        return await self._api.get_userinfo_by_id(user_id) is not None

    async def ensure_system_user(self) -> None:
        if await self._user_exists(self.system_user):
            return
        try:
            await self._api.register_user(SYSTEM_USER_LOCALPART, displayname=SYSTEM_DISPLAY_NAME)
            logger.info("Registered GovChat system user %s", self.system_user)
        except SynapseError:
            if not await self._user_exists(self.system_user):  # another process won the race
                raise

    async def ensure_info(self) -> str:
        """INFO's room ID, creating INFO once. The alias is the source of truth: a restart finds it."""
        existing = await self._resolve_alias(info_alias(self.server_name))
        if existing is not None:
            return existing
        await self.ensure_system_user()
        new = NewChannel(name=self._config.info_name, alias_localpart=INFO_ALIAS_LOCALPART, topic=self._config.info_topic, owners=())
        try:
            return str((await self.create_channel(new, is_info=True))["room_id"])
        except InvalidRequest:
            # Another process created INFO between our look-up and our create.
            found = await self._resolve_alias(info_alias(self.server_name))
            if found is None:
                raise
            return found

    # --- INFO membership ------------------------------------------------------

    async def queue_info_join(self, user_id: str) -> None:
        """Record that the user is owed a join to INFO (durable: a row, drained by the background process)."""
        if user_id != self.system_user:
            await self.join_queue.add(user_id, _now_ms())

    async def join_info(self, user_id: str) -> bool:
        """Join one queued user to INFO and take them off the queue; False (still queued) on failure."""
        if user_id == self.system_user:
            await self.join_queue.done(user_id)
            return True
        try:
            room_id = await self._resolve_alias(info_alias(self.server_name))
            if room_id is None:
                raise RuntimeError("INFO does not exist yet")
            await self._join(user_id, room_id)
        except Exception as error:
            logger.warning("Joining %s to INFO failed; it stays queued", user_id, exc_info=True)
            await self.join_queue.failed(user_id, f"{type(error).__name__}: {error}", _now_ms())
            return False
        await self.join_queue.done(user_id)
        return True

    async def join_info_unless_busy(self, user_id: str) -> bool:
        """The registering process's join at once, unless it is already joining someone to INFO; True if joined.

        Joins sent at the same moment fork INFO's event graph, and every event after a fork
        resolves the state of each branch, i.e. INFO's whole member list: a burst of
        registrations, each joining at once, slowed every join down as INFO grew (0.3 joins a
        second at 5 000 members). One at a time per process; otherwise the user's queued row
        (already written) is made due now, for the background-tasks process's next drain.
        """
        if self._info_joins_running:
            try:
                await self.join_queue.due_now(user_id, _now_ms())  # the next drain, within a second, not in 10
            except Exception:
                logger.warning("Could not bring the INFO join of %s forward; it is drained in 10 s", user_id, exc_info=True)
            return False
        self._info_joins_running += 1
        try:
            return await self.join_info(user_id)
        finally:
            self._info_joins_running -= 1

    async def drain_info_joins(self) -> int:
        """Join the queued users whose turn has come; how many joined."""
        joined = 0
        due = await self.join_queue.due(_now_ms(), JOIN_QUEUE_BATCH)
        self._info_joins_running += 1  # registrations on this process meanwhile leave their join to this drain
        try:
            for user_id in due:
                joined += await self.join_info(user_id)
        finally:
            self._info_joins_running -= 1
        return joined

    async def join_everyone_to_info(self, info_room_id: str) -> int:
        """Join every active user not yet in INFO (first switch-on, or joins lost to a crash)."""
        joined = 0
        after = ""
        while True:
            batch = await self._store.users_missing_from(info_room_id, self._config.info_mandatory, after, JOIN_BATCH_SIZE)
            for user_id in batch:
                if user_id == self.system_user:
                    continue
                try:
                    await self._join(user_id, info_room_id)
                    joined += 1
                except Exception:
                    logger.warning("Could not join %s to INFO", user_id, exc_info=True)
            if len(batch) < JOIN_BATCH_SIZE:
                return joined
            after = batch[-1]

    async def _join(self, user_id: str, room_id: str) -> None:
        # Not ModuleApi.update_room_membership: its client rate limits refused bursts of
        # registrations past the tenth join, and those users never reached INFO.
        await join_without_rate_limit(self._api, user_id, room_id)

    # --- owners and archiving -------------------------------------------------

    async def find_channel(self, room_ref: str) -> Channel:
        room_id = await self._resolve_alias(room_ref) if room_ref.startswith("#") else room_ref
        if not room_id or not room_id.startswith("!"):
            raise ChannelNotFound(room_ref)
        state = await self._api.get_room_state(room_id, [(CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY)])
        event = state.get((CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY))
        if event is None:
            raise ChannelNotFound(room_ref)
        return Channel(room_id, marker_from_content(event.content))

    async def add_owner(self, room_ref: str, raw_user_id: Any) -> dict[str, Any]:
        user_id = parse_user_id(raw_user_id, self.server_name)
        channel = await self.find_channel(room_ref)
        if not await self._user_exists(user_id):
            raise unknown_user("user_id", user_id)
        if channel.marker.archived:
            raise InvalidRequest("room", "Saluran ini telah diarkibkan. / This channel is archived.")
        marker = ChannelMarker(channel.marker.owners | {user_id}, channel.marker.is_info, channel.marker.archived)
        await self._join(user_id, channel.room_id)
        # Power levels first, then the marker: if the second write fails, the rules (which read
        # the marker) still refuse, so a half-done appointment never grants more than intended.
        await self._set_power_levels(channel.room_id, marker)
        await self._set_marker(channel.room_id, marker)
        return await self.describe(Channel(channel.room_id, marker))

    async def remove_owner(self, room_ref: str, raw_user_id: Any) -> dict[str, Any]:
        user_id = parse_user_id(raw_user_id, self.server_name)
        channel = await self.find_channel(room_ref)
        if user_id not in channel.marker.owners:
            raise InvalidRequest(
                "user_id",
                f"Medan user_id: {user_id} bukan pemilik saluran ini. / The user_id field: {user_id} is not an owner of this channel.",
            )
        marker = ChannelMarker(channel.marker.owners - {user_id}, channel.marker.is_info, channel.marker.archived)
        # Marker first: the rules stop the removed owner at once, even if the second write fails.
        await self._set_marker(channel.room_id, marker)
        await self._set_power_levels(channel.room_id, marker)
        return await self.describe(Channel(channel.room_id, marker))

    async def archive(self, room_ref: str) -> dict[str, Any]:
        channel = await self.find_channel(room_ref)
        if channel.marker.is_info:
            raise InvalidRequest("room", "Saluran INFO tidak boleh diarkibkan. / The INFO channel cannot be archived.")
        marker = ChannelMarker(channel.marker.owners, channel.marker.is_info, archived=True)
        await self._set_marker(channel.room_id, marker)
        await self._set_power_levels(channel.room_id, marker)
        await self._api.public_room_list_manager.remove_room_from_public_room_list(channel.room_id)
        return await self.describe(Channel(channel.room_id, marker))

    async def _set_marker(self, room_id: str, marker: ChannelMarker) -> None:
        await self._send_state(room_id, CHANNEL_MARKER_EVENT_TYPE, marker.as_content())

    async def _set_power_levels(self, room_id: str, marker: ChannelMarker) -> None:
        await self._send_state(room_id, "m.room.power_levels", channel_power_levels(marker.owners, marker.archived))

    async def _send_state(self, room_id: str, event_type: str, content: dict[str, Any]) -> None:
        await self._api.create_and_send_event_into_room(
            {"type": event_type, "state_key": "", "room_id": room_id, "sender": self.system_user, "content": content}
        )

    # --- reading --------------------------------------------------------------

    async def channel_room_ids(self) -> list[str]:
        return await self._store.channel_room_ids()

    async def list_channels(self) -> list[dict[str, Any]]:
        channels = []
        for room_id in await self._store.channel_room_ids():
            try:
                channels.append(await self.describe(await self.find_channel(room_id)))
            except ChannelNotFound:
                continue
        return channels

    async def describe(self, channel: Channel) -> dict[str, Any]:
        wanted = [("m.room.name", ""), ("m.room.topic", ""), ("m.room.canonical_alias", "")]
        state = await self._api.get_room_state(channel.room_id, wanted)

        def text(event_type: str, key: str) -> str:
            event = state.get((event_type, ""))
            value = event.content.get(key) if event is not None else None
            return value if isinstance(value, str) else ""

        return {
            "room_id": channel.room_id,
            "name": text("m.room.name", "name"),
            "topic": text("m.room.topic", "topic"),
            "alias": text("m.room.canonical_alias", "alias"),
            "owners": sorted(channel.marker.owners),
            "info": channel.marker.is_info,
            "archived": channel.marker.archived,
            "member_count": await self._store.joined_member_count(channel.room_id),
            "in_directory": await self._api.public_room_list_manager.room_is_in_public_room_list(channel.room_id),
        }

    async def _resolve_alias(self, alias: str) -> str | None:
        try:
            room_id, _ = await self._api.lookup_room_alias(alias)
        except (NotFoundError, SynapseError) as error:
            if isinstance(error, NotFoundError) or error.code == 404:
                return None
            raise
        return room_id


def _now_ms() -> int:
    return int(time.time() * 1000)


__all__ = ["Channel", "ChannelNotFound", "ChannelService", "InvalidRequest", "NewChannel", "channel_power_levels"]
