"""GovChat's event rules are given the room's settings and the members an event is about, not every
member: the question `pass_only_the_state_the_rules_read` puts to Synapse's event context.

Real Synapse events and Synapse's own `StateFilter`; the context and the store are stand-ins
that record what they are asked. The behaviour on a real homeserver (a channel owner still
cannot redact a member's join) is in tests/integration/test_public_channels.py.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from synapse.api.room_versions import RoomVersions
from synapse.events import EventBase, make_event_from_dict
from synapse.server import HomeServer  # noqa: F401  (imports Synapse in its own order: no import cycle)
from synapse.types.state import StateFilter

from synapse_modules.common import synapse_internals

ROOM = "!info:govchat.test"
OWNER = "@owner:govchat.test"
MEMBER = "@member:govchat.test"


def event(event_type: str, sender: str, room_id: str = ROOM, **fields: Any) -> EventBase:
    body = {"type": event_type, "sender": sender, "room_id": room_id, "content": {}, "auth_events": [], "prev_events": [], "depth": 1}
    body.update(hashes={"sha256": "x"}, signatures={}, origin_server_ts=0, **fields)
    return make_event_from_dict(body, RoomVersions.V10)


class Store:
    def __init__(self, *events: EventBase) -> None:
        self._events = {stored.event_id: stored for stored in events}

    async def get_event(self, event_id: str, allow_none: bool = False, allow_rejected: bool = False) -> EventBase | None:
        assert allow_none
        return self._events.get(event_id)


def members(store: Store, proposed: EventBase) -> frozenset[str]:
    return asyncio.run(synapse_internals.members_an_event_is_about(store, proposed))


def test_a_message_is_about_its_sender_only() -> None:
    assert members(Store(), event("m.room.message", MEMBER)) == {MEMBER}


def test_a_member_event_is_about_its_sender_and_its_subject() -> None:
    assert members(Store(), event("m.room.member", OWNER, state_key=MEMBER)) == {OWNER, MEMBER}


def test_a_redaction_of_a_join_is_about_the_member_who_joined() -> None:
    join = event("m.room.member", MEMBER, state_key=MEMBER)
    assert members(Store(join), event("m.room.redaction", OWNER, redacts=join.event_id)) == {OWNER, MEMBER}


def test_a_redaction_of_a_message_or_of_an_unknown_event_names_no_one_else() -> None:
    post = event("m.room.message", MEMBER)
    assert members(Store(post), event("m.room.redaction", OWNER, redacts=post.event_id)) == {OWNER}
    assert members(Store(), event("m.room.redaction", OWNER, redacts="$gone")) == {OWNER}


def test_a_join_in_another_room_is_not_this_rooms_state() -> None:
    elsewhere = event("m.room.member", MEMBER, room_id="!other:govchat.test", state_key=MEMBER)
    assert members(Store(elsewhere), event("m.room.redaction", OWNER, redacts=elsewhere.event_id)) == {OWNER}


class Context:
    def __init__(self) -> None:
        self.asked: list[StateFilter | None] = []
        self.app_service = "kept"

    async def get_prev_state_ids(self, state_filter: StateFilter | None = None) -> dict[tuple[str, str], str]:
        self.asked.append(state_filter)
        return {}


def test_the_context_asks_for_every_setting_and_the_named_members_only() -> None:
    context = Context()
    narrowed = synapse_internals._StateTheRulesRead(context, frozenset({OWNER, MEMBER}))
    asyncio.run(narrowed.get_prev_state_ids())
    (asked,) = context.asked
    assert asked is not None and asked.include_others
    assert asked.types == {"m.room.member": frozenset({OWNER, MEMBER})}
    assert narrowed.app_service == "kept"  # everything else is the real context's


def test_the_wrapper_hands_synapse_the_narrowed_context_once() -> None:
    seen: list[Any] = []

    class Callbacks:
        store = Store()

        async def check_event_allowed(self, event: EventBase, context: Any) -> tuple[bool, None]:
            seen.append(context)
            return True, None

    callbacks = Callbacks()
    api = SimpleNamespace(_hs=SimpleNamespace(get_module_api_callbacks=lambda: SimpleNamespace(third_party_event_rules=callbacks)))
    assert synapse_internals.pass_only_the_state_the_rules_read(api)  # type: ignore[arg-type]
    assert synapse_internals.pass_only_the_state_the_rules_read(api)  # type: ignore[arg-type]  # a second module: no second wrapper
    context = Context()
    asyncio.run(callbacks.check_event_allowed(event("m.room.message", MEMBER), context))
    asyncio.run(seen[0].get_prev_state_ids())
    assert len(seen) == 1 and context.asked[0] is not None
    assert context.asked[0].types == {"m.room.member": frozenset({MEMBER})}


def test_a_changed_synapse_signature_is_left_alone() -> None:
    class Callbacks:
        store = Store()

        async def check_event_allowed(self, event: EventBase, context: Any, extra: Any) -> tuple[bool, None]:
            return True, None

    callbacks = Callbacks()
    api = SimpleNamespace(_hs=SimpleNamespace(get_module_api_callbacks=lambda: SimpleNamespace(third_party_event_rules=callbacks)))
    assert not synapse_internals.pass_only_the_state_the_rules_read(api)  # type: ignore[arg-type]
    assert "check_event_allowed" not in vars(callbacks)
