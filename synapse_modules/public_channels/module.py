"""Synapse adapter for public channels: registers callbacks, turns events into plain facts,
asks `rules.decide`, and refuses with the bilingual sentence it returns.

Every callback fails closed: an unexpected error refuses the event (and is logged),
it never crashes the homeserver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter
from synapse.api.errors import Codes, SynapseError
from synapse.events import EventBase
from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.types import Requester, StateMap

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY, marker_from_content
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.jobs import JobBusy, run_exclusive
from synapse_modules.common.schema_check import require_schema
from synapse_modules.common.synapse_internals import pass_only_the_state_the_rules_read
from synapse_modules.public_channels import rules, synapse_adapter
from synapse_modules.public_channels.config import PublicChannelsConfig, parse_public_channels_config
from synapse_modules.public_channels.service import ChannelService
from synapse_modules.public_channels.servlets import ChannelsResource
from synapse_modules.public_channels.store import ChannelStore
from synapse_modules.public_channels.synapse_adapter import (
    exclude_from_presence,
    install_typing_filter,
    presence_exclusion_works,
)

logger = logging.getLogger(__name__)

REFUSALS = Counter(
    "govchat_channel_refusals_total",
    "Events and requests the public-channel rules refused, by action and rule",
    ["action", "rule"],
)

START_UP_RETRY_SECONDS = 5
MAX_ALLOWED_ROOMS_CHECKED = 50
START_UP_ATTEMPTS = 60
JOIN_QUEUE_INTERVAL_MS = 1_000
INFO_SWEEP_JOB = "info_sweep"
INFO_SWEEP_INTERVAL_MS = 10 * 60_000
PRESENCE_REFRESH_MS = 60_000
# At first start INFO is created by the background-tasks process: the others look again this often until it exists.
PRESENCE_FIRST_LOOK_SECONDS = 2
PRESENCE_FIRST_LOOKS = 90


class PublicChannels:
    def __init__(self, config: PublicChannelsConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        require_schema(api, 3)
        synapse_adapter.self_test(api)
        self.service = ChannelService(api, config, ChannelStore(api))
        api.register_third_party_rules_callbacks(
            check_event_allowed=self.check_event_allowed,
            on_create_room=self.on_create_room,
        )
        pass_only_the_state_the_rules_read(api)  # so INFO's rules do not load every member per event
        api.register_spam_checker_callbacks(
            user_may_publish_room=self.user_may_publish_room,
            user_may_create_room_alias=self.user_may_create_room_alias,
        )
        api.register_account_validity_callbacks(on_user_registration=self.on_user_registration)
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/channels", ChannelsResource(api, self.service))
        if install_typing_filter(api, self.passes_typing_on):
            logger.info("Typing in channels is %s", "passed on" if config.deliver_typing else "not passed on")
        # Every process routes and shows presence, so every process keeps the channels out of it.
        # No `on_new_event` for new channels: with any such callback registered, Synapse loads the room's whole
        # state for every event (every member of INFO); a channel created elsewhere leaves presence at the next refresh.
        if not config.share_presence and presence_exclusion_works(api):
            api.delayed_background_call(1_000, self._hide_channels_once_info_exists, desc="govchat_channels_presence")
            api.looping_background_call(
                self._hide_channels_from_presence, PRESENCE_REFRESH_MS, desc="govchat_channels_presence", run_on_all_instances=True
            )
        # The background-tasks process (the main one by default) creates INFO, drains the queue of
        # joins owed since registration and sweeps periodically for anyone still missing from INFO.
        # (Registered only there: elsewhere Synapse would log a warning for each looping call.)
        if api.should_run_background_tasks():
            api.delayed_background_call(100, self._start_up, desc="govchat_channels_start_up")
            api.looping_background_call(self._drain_info_joins, JOIN_QUEUE_INTERVAL_MS, desc="govchat_info_join_queue")
            api.looping_background_call(self._sweep_info, INFO_SWEEP_INTERVAL_MS, desc="govchat_info_sweep")

    @staticmethod
    def parse_config(config: dict[str, Any]) -> PublicChannelsConfig:
        return parse_public_channels_config(config)

    # --- start-up and registration -------------------------------------------

    async def _start_up(self) -> None:
        for attempt in range(1, START_UP_ATTEMPTS + 1):
            try:
                info_room_id = await self.service.ensure_info()
                joined = await self.service.join_everyone_to_info(info_room_id)
                logger.info("INFO is %s; joined %d user(s) who were missing", info_room_id, joined)
                return
            except Exception:
                logger.warning("Setting up INFO failed (attempt %d); retrying", attempt, exc_info=True)
                await self._api.sleep(START_UP_RETRY_SECONDS)
        logger.error("Could not set up INFO after %d attempts", START_UP_ATTEMPTS)

    async def on_user_registration(self, user_id: str) -> None:
        # The owed join is a row before registration returns: if this process dies now, the
        # background-tasks process still joins the user.
        try:
            await self.service.queue_info_join(user_id)
        except Exception:
            logger.exception("Could not queue the INFO join of %s; the periodic sweep will join them", user_id)
        # Tried at once in the background (joining a room of many thousands must not slow registration down),
        # unless this process is joining someone else: then the queue's drain joins the user.
        self._api.run_as_background_process("govchat_join_info", self.service.join_info_unless_busy, user_id)

    async def _drain_info_joins(self) -> None:
        try:
            await self.service.drain_info_joins()
        except Exception:
            logger.exception("Draining the INFO join queue failed; trying again shortly")

    async def _sweep_info(self) -> None:
        """Join every active user missing from INFO (joins lost to a crash, or before INFO existed)."""

        async def sweep() -> int:
            return await self.service.join_everyone_to_info(await self.service.ensure_info())

        try:
            joined = await run_exclusive(self._api, INFO_SWEEP_JOB, INFO_SWEEP_INTERVAL_MS, "periodic", sweep)
            if joined:
                logger.info("INFO sweep joined %d user(s) who were missing", joined)
        except JobBusy:
            logger.info("The INFO sweep is still running elsewhere; skipped this interval")
        except Exception:
            logger.exception("The INFO sweep failed; it runs again in %d s", INFO_SWEEP_INTERVAL_MS // 1000)

    # --- the rules -------------------------------------------------------------

    async def _hide_channels_from_presence(self) -> int:
        """The channels (INFO included) out of this process's presence; how many there are, 0 on a failure."""
        try:
            channels = await self.service.channel_room_ids()
            exclude_from_presence(self._api, rules.rooms_hidden_from_presence(channels, self._config.share_presence))
            return len(channels)
        except Exception:
            logger.exception("Could not refresh the channels hidden from presence; trying again in %d s", PRESENCE_REFRESH_MS // 1000)
            return 0

    async def _hide_channels_once_info_exists(self) -> None:
        for _ in range(PRESENCE_FIRST_LOOKS):
            if await self._hide_channels_from_presence() or not self._config.info_mandatory:
                return
            await self._api.sleep(PRESENCE_FIRST_LOOK_SECONDS)

    async def passes_typing_on(self, room_id: str) -> bool:
        if self._config.deliver_typing:  # every typing notification passes: no state look-up on its path
            return True
        try:
            state = await self._api.get_room_state(room_id, [(CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY)])
            in_channel = (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY) in state
        except Exception:
            logger.exception("Could not tell whether %s is a channel; passing typing on", room_id)
            return True  # typing carries no rights: on doubt, behave as stock Synapse
        return rules.passes_typing_on(in_channel, self._config.deliver_typing)

    async def check_event_allowed(self, event: EventBase, state: StateMap[EventBase]) -> tuple[bool, dict | None]:
        try:
            facts = _room_facts(event, state)
            verdict = rules.decide(_proposed(event), facts, await self._circumstances(event, in_channel=facts.marker is not None))
        except Exception:
            logger.exception("Refusing event %s in %s: the channel rules failed", event.event_id, event.room_id)
            raise SynapseError(403, rules.INTERNAL_ERROR, Codes.FORBIDDEN) from None
        if not verdict.allowed:
            logger.info("Refused %s from %s in %s: %s", event.type, event.sender, event.room_id, verdict.rule)
            REFUSALS.labels(action="event", rule=str(verdict.rule)).inc()
            raise SynapseError(403, verdict.message, Codes.FORBIDDEN)
        return True, None

    async def on_create_room(self, requester: Requester, config: dict, is_requester_admin: bool) -> None:
        user_id = requester.user.to_string()
        try:
            refusal = rules.create_room_refusal(config, is_requester_admin, user_id == self.service.system_user)
        except Exception:
            logger.exception("Refusing createRoom by %s: the channel rules failed", user_id)
            raise SynapseError(403, rules.INTERNAL_ERROR, Codes.FORBIDDEN) from None
        if refusal is not None:
            logger.info("Refused createRoom by %s: public room or channel marker", user_id)
            REFUSALS.labels(action="create_public_room", rule="public_rooms_reserved").inc()
            raise SynapseError(403, refusal, Codes.FORBIDDEN)

    async def user_may_publish_room(self, user_id: str, room_id: str) -> Any:
        return await self._reserved_to_administrators(
            user_id, rules.may_publish_to_directory, "publish_to_directory", rules.PUBLIC_ROOMS_RESERVED, room_id
        )

    async def user_may_create_room_alias(self, user_id: str, room_alias: Any) -> Any:
        return await self._reserved_to_administrators(
            user_id, rules.may_create_alias, "create_alias", rules.ALIASES_RESERVED, str(room_alias)
        )

    async def _reserved_to_administrators(
        self, user_id: str, rule: Callable[[bool, bool], bool], action: str, refusal: str, subject: str
    ) -> Any:
        """A spam-checker answer for an action only administrators (and the system user) may take."""
        try:
            allowed = rule(await self._api.is_user_admin(user_id), user_id == self.service.system_user)
        except Exception:
            logger.exception("Refusing %s (%s) by %s: the check failed", action, subject, user_id)
            return Codes.FORBIDDEN, {"error": rules.INTERNAL_ERROR}
        if allowed:
            return NOT_SPAM
        logger.info("Refused %s (%s) by %s", action, subject, user_id)
        REFUSALS.labels(action=action, rule="reserved_to_administrators").inc()
        # The extra "error" field replaces Synapse's English sentence with ours.
        return Codes.FORBIDDEN, {"error": refusal}

    async def _circumstances(self, event: EventBase, in_channel: bool) -> rules.Circumstances:
        needs_account = event.type in (rules.MEMBERSHIP, rules.JOIN_RULES, rules.HISTORY_VISIBILITY) and event.sender != self.service.system_user
        is_admin = await self._api.is_user_admin(event.sender) if needs_account else False
        deactivated = False
        if needs_account and event.type == rules.MEMBERSHIP and event.content.get("membership") == "leave":
            info = await self._api.get_userinfo_by_id(event.sender)
            deactivated = bool(info and info.is_deactivated)
        profile = None
        own_membership = event.type == rules.MEMBERSHIP and event.get_state_key() == event.sender
        if in_channel and needs_account and own_membership and self._api.is_mine(event.sender):
            found = await self._api.get_profile_for_user(event.sender[1:].split(":", 1)[0])
            profile = rules.Profile(display_name=found.display_name, avatar_url=found.avatar_url)
        allows_channel_members = False
        if needs_account and not is_admin and event.type == rules.JOIN_RULES and event.content.get("join_rule") in rules.RESTRICTED_JOIN_RULES:
            allows_channel_members = await self._any_channel(_allowed_room_ids(event.content))
        return rules.Circumstances(
            system_user_id=self.service.system_user,
            sender_is_admin=is_admin,
            sender_is_deactivated=deactivated,
            info_mandatory=self._config.info_mandatory,
            sender_profile=profile,
            allows_channel_members=allows_channel_members,
        )

    async def _any_channel(self, room_ids: list[str]) -> bool:
        if len(room_ids) > MAX_ALLOWED_ROOMS_CHECKED:
            return True  # fail closed rather than look up an unbounded list
        for room_id in room_ids:
            state = await self._api.get_room_state(room_id, [(CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY)])
            if (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY) in state:
                return True
        return False


def _proposed(event: EventBase) -> rules.ProposedEvent:
    is_member_event = event.type == rules.MEMBERSHIP
    membership = event.content.get("membership") if is_member_event else None
    join_rule = event.content.get("join_rule") if event.type == rules.JOIN_RULES else None
    return rules.ProposedEvent(
        type=event.type,
        sender=event.sender,
        state_key=event.get_state_key(),
        membership=membership if isinstance(membership, str) else None,
        join_rule=join_rule if isinstance(join_rule, str) else None,
        redacts=event.redacts if event.type == rules.REDACTION else None,
        extra_member_keys=frozenset(event.content) - rules.MEMBER_CONTENT_KEYS if is_member_event else frozenset(),
        displayname=event.content.get("displayname") if is_member_event else None,
        avatar_url=event.content.get("avatar_url") if is_member_event else None,
        history_visibility=_text_or_none(event.content.get("history_visibility")) if event.type == rules.HISTORY_VISIBILITY else None,
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _allowed_room_ids(content: Any) -> list[str]:
    """The rooms a restricted join rule lets members of join from (MSC3083 `allow`)."""
    allow = content.get("allow")
    entries = allow if isinstance(allow, list) else []
    return [entry["room_id"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("room_id"), str)]


def _room_facts(event: EventBase, state: StateMap[EventBase]) -> rules.RoomFacts:
    marker_event = state.get((CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY))
    if marker_event is None:
        return rules.RoomFacts(marker=None)
    sender_member = state.get((rules.MEMBERSHIP, event.sender))
    return rules.RoomFacts(
        marker=marker_from_content(marker_event.content),
        sender_membership=sender_member.membership if sender_member is not None else None,
        state_event_ids=frozenset(ev.event_id for ev in state.values()) if event.type == rules.REDACTION else frozenset(),
    )
