"""Synapse adapter for the edit window: thin wiring around edit_window.rule."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Counter
from synapse.api.errors import Codes, SynapseError
from synapse.events import EventBase
from synapse.module_api import ModuleApi
from synapse.types import StateMap
from twisted.internet.defer import CancelledError

from synapse_modules.common.synapse_internals import pass_only_the_state_the_rules_read
from synapse_modules.edit_window import synapse_adapter
from synapse_modules.edit_window.config import EditWindowConfig, parse_edit_window_config
from synapse_modules.edit_window.rule import (
    MAX_EDIT_CHAIN,
    REDACTION,
    SELF_ERASURE_REFUSED,
    Refusal,
    StoredEvent,
    edit_of,
    is_annotation,
    judge_edit,
    judge_redaction,
    may_erase_on_deactivation,
    redaction_targets,
)

logger = logging.getLogger(__name__)

REFUSALS = Counter(
    "govchat_edit_window_refusals_total",
    "Edits and deletions the edit window refused, by action and reason",
    ["action", "reason"],
)


class EditWindow:
    def __init__(self, config: EditWindowConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        synapse_adapter.self_test(api)
        # check_event_allowed (not the spam checker) because a refusal raised from
        # it reaches the client as is: M_FORBIDDEN with GovChat's own sentence.
        api.register_third_party_rules_callbacks(check_event_allowed=self.check_event_allowed)
        pass_only_the_state_the_rules_read(api)  # so INFO's rules do not load every member per event
        synapse_adapter.refuse_self_erasure(may_erase_on_deactivation, SELF_ERASURE_REFUSED)

    @staticmethod
    def parse_config(config: dict[str, Any]) -> EditWindowConfig:
        return parse_edit_window_config(config)

    async def check_event_allowed(self, event: EventBase, state_events: StateMap[EventBase]) -> tuple[bool, dict | None]:
        if event.type != REDACTION and "m.relates_to" not in event.content:
            return True, None  # The common case, a new message: nothing to look up.
        try:
            refusal = await self._refusal(event)
        except CancelledError:
            raise
        except Exception:
            # Fail closed, but never let the error escape: Synapse would answer 500.
            logger.exception("edit_window: could not check event %s; refusing it", event.event_id)
            refusal = Refusal.CHECK_FAILED
        if refusal is None:
            return True, None
        logger.info("edit_window: refused %s from %s in %s (%s)", event.type, event.sender, event.room_id, refusal.value)
        action = "deletion" if event.type == REDACTION else "edit"
        REFUSALS.labels(action=action, reason=refusal.name.lower()).inc()
        raise SynapseError(403, refusal.sentence(self._config.window_seconds), Codes.FORBIDDEN)

    async def _refusal(self, event: EventBase) -> Refusal | None:
        if not self._api.is_mine(event.sender):
            return None  # The rule binds this server's users; other servers' events are theirs.
        now_ms = self._api.get_current_time_msec()
        window_ms = self._config.window_ms
        edit = edit_of(event.content)
        if edit is not None:
            chain = await self._chain(edit.target) if edit.target is not None else []
            refusal = judge_edit(event.sender, event.room_id, chain, now_ms, window_ms)
            if refusal is not None:
                return refusal
        if event.type == REDACTION:
            for target in redaction_targets(event.redacts, event.content):
                chain = await self._chain(target) if isinstance(target, str) else []
                ordered = await self._ordered_by_administrator(event, chain)
                refusal = judge_redaction(event.sender, event.room_id, chain, now_ms, window_ms, ordered)
                if refusal is not None:
                    return refusal
                if ordered and chain and chain[0] is not None and chain[0].sender == event.sender:
                    logger.info(
                        "edit_window: admin API redaction of %s in %s in the name of %s (no window applies)",
                        target, event.room_id, event.sender,
                    )
        return None

    async def _ordered_by_administrator(self, redaction: EventBase, chain: list[StoredEvent | None]) -> bool:
        """A redaction from the admin API rather than from the user's own device.

        The admin API's user redaction sends in the user's name without a device.
        An administrator's *own* events are not exempt that way: sender and
        target are then the same administrator, and the rule holds for them too.
        """
        target = chain[0] if chain else None
        if target is None or target.sender != redaction.sender:
            return False
        if synapse_adapter.sent_from_a_device(redaction):
            return False
        return not await self._api.is_user_admin(redaction.sender)

    async def _chain(self, event_id: str) -> list[StoredEvent | None]:
        """The replaced event, then each event it replaces in turn, up to MAX_EDIT_CHAIN."""
        chain: list[StoredEvent | None] = []
        next_id: str | None = event_id
        while next_id is not None and len(chain) < MAX_EDIT_CHAIN:
            event = await synapse_adapter.fetch_event(self._api, next_id)
            stored = _stored(event) if event is not None else None
            chain.append(stored)
            next_id = stored.replaces if stored is not None else None
        return chain


def _stored(event: EventBase) -> StoredEvent:
    edit = edit_of(event.content)
    return StoredEvent(
        event_id=event.event_id,
        room_id=event.room_id,
        sender=event.sender,
        type=event.type,
        origin_server_ts=event.origin_server_ts,
        is_state=event.is_state(),
        replaces=edit.target if edit is not None else None,
        annotates=is_annotation(event.content),
    )
