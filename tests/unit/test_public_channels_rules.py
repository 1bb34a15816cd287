"""The public channels rule table, without a homeserver."""

from __future__ import annotations

import pytest

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, ChannelMarker, marker_from_content
from synapse_modules.public_channels.rules import (
    CHANNEL_ARCHIVED,
    INFO_IS_MANDATORY,
    MARKER_RESERVED,
    MEMBERS_CANNOT_POST,
    PUBLIC_ROOMS_RESERVED,
    SETTINGS_RESERVED,
    Circumstances,
    ProposedEvent,
    RoomFacts,
    create_room_refusal,
    decide,
    may_create_alias,
    may_publish_to_directory,
)

SYSTEM = "@govchat:govchat.localhost"
OWNER = "@pemilik:govchat.localhost"
MEMBER = "@ahli:govchat.localhost"
CHANNEL = RoomFacts(marker=ChannelMarker(owners=frozenset({OWNER})), sender_membership="join", state_event_ids=frozenset({"$pl"}))
INFO = RoomFacts(marker=ChannelMarker(is_info=True), sender_membership="join")
ARCHIVED = RoomFacts(marker=ChannelMarker(owners=frozenset({OWNER}), archived=True), sender_membership="join")
PRIVATE_ROOM = RoomFacts(marker=None)


def usual(admin: bool = False, deactivated: bool = False, mandatory: bool = True) -> Circumstances:
    return Circumstances(system_user_id=SYSTEM, sender_is_admin=admin, sender_is_deactivated=deactivated, info_mandatory=mandatory)


MESSAGE_LIKE = [
    "m.room.message",  # messages, replies, thread replies, edits (m.replace) are all m.room.message
    "m.reaction",
    "m.sticker",
    "m.poll.start",
    "org.matrix.msc3381.poll.start",
    "m.call.invite",
    "org.matrix.msc3401.call.member",
    "m.room.encrypted",
]
SETTINGS = [
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.power_levels",
    "m.room.join_rules",
    "m.room.encryption",
    "m.room.history_visibility",
    "m.room.canonical_alias",
    "m.room.aliases",
    "im.vector.modular.widgets",
    CHANNEL_MARKER_EVENT_TYPE,
]


@pytest.mark.parametrize("event_type", MESSAGE_LIKE)
def test_member_cannot_post_anything_in_a_channel(event_type: str) -> None:
    verdict = decide(ProposedEvent(type=event_type, sender=MEMBER), CHANNEL, usual())
    assert not verdict.allowed and verdict.message == MEMBERS_CANNOT_POST


@pytest.mark.parametrize("event_type", MESSAGE_LIKE)
def test_owner_posts_anything_message_like(event_type: str) -> None:
    assert decide(ProposedEvent(type=event_type, sender=OWNER), CHANNEL, usual()).allowed


@pytest.mark.parametrize("event_type", SETTINGS)
def test_member_cannot_change_any_channel_setting(event_type: str) -> None:
    verdict = decide(ProposedEvent(type=event_type, sender=MEMBER, state_key=""), CHANNEL, usual())
    assert not verdict.allowed and verdict.message == SETTINGS_RESERVED


@pytest.mark.parametrize("event_type", ["m.room.power_levels", "m.room.join_rules", "m.room.encryption", CHANNEL_MARKER_EVENT_TYPE])
def test_owner_cannot_change_who_may_do_what(event_type: str) -> None:
    assert not decide(ProposedEvent(type=event_type, sender=OWNER, state_key=""), CHANNEL, usual()).allowed


def test_server_administrator_client_gets_no_posting_bypass() -> None:
    verdict = decide(ProposedEvent(type="m.room.power_levels", sender=MEMBER, state_key=""), CHANNEL, usual(admin=True))
    assert not verdict.allowed


@pytest.mark.parametrize("event_type", ["m.room.name", "m.room.topic", "m.room.avatar", "m.room.pinned_events"])
def test_owner_presents_the_channel(event_type: str) -> None:
    assert decide(ProposedEvent(type=event_type, sender=OWNER, state_key=""), CHANNEL, usual()).allowed


def test_system_user_does_anything() -> None:
    event = ProposedEvent(type="m.room.power_levels", sender=SYSTEM, state_key="")
    assert decide(event, CHANNEL, usual()).allowed


def test_member_cannot_redact_others_events() -> None:
    assert not decide(ProposedEvent(type="m.room.redaction", sender=MEMBER, redacts="$post"), CHANNEL, usual()).allowed


def test_owner_redacts_posts_but_not_channel_state() -> None:
    assert decide(ProposedEvent(type="m.room.redaction", sender=OWNER, redacts="$post"), CHANNEL, usual()).allowed
    verdict = decide(ProposedEvent(type="m.room.redaction", sender=OWNER, redacts="$pl"), CHANNEL, usual())
    assert not verdict.allowed and verdict.message == SETTINGS_RESERVED


def test_member_cannot_invite_and_owner_can() -> None:
    invite = ProposedEvent(type="m.room.member", sender=MEMBER, state_key="@x:govchat.localhost", membership="invite")
    assert not decide(invite, CHANNEL, usual()).allowed
    owner_invite = ProposedEvent(type="m.room.member", sender=OWNER, state_key="@x:govchat.localhost", membership="invite")
    assert decide(owner_invite, CHANNEL, usual()).allowed


def test_anyone_joins_and_leaves_an_ordinary_channel() -> None:
    assert decide(ProposedEvent(type="m.room.member", sender=MEMBER, state_key=MEMBER, membership="join"), CHANNEL, usual()).allowed
    assert decide(ProposedEvent(type="m.room.member", sender=MEMBER, state_key=MEMBER, membership="leave"), CHANNEL, usual()).allowed


def test_members_cannot_kick_but_administrators_can() -> None:
    kick = ProposedEvent(type="m.room.member", sender=OWNER, state_key=MEMBER, membership="leave")
    assert not decide(kick, CHANNEL, usual()).allowed
    assert decide(kick, CHANNEL, usual(admin=True)).allowed


def test_leaving_info_is_refused_while_mandatory() -> None:
    leave = ProposedEvent(type="m.room.member", sender=MEMBER, state_key=MEMBER, membership="leave")
    verdict = decide(leave, INFO, usual())
    assert not verdict.allowed and verdict.message == INFO_IS_MANDATORY
    assert decide(leave, INFO, usual(mandatory=False)).allowed
    assert decide(leave, INFO, usual(deactivated=True)).allowed  # deactivation parts every room


def test_archived_channel_is_read_only_even_for_owners() -> None:
    verdict = decide(ProposedEvent(type="m.room.message", sender=OWNER), ARCHIVED, usual())
    assert not verdict.allowed and verdict.message == CHANNEL_ARCHIVED
    newcomer = RoomFacts(marker=ARCHIVED.marker, sender_membership=None)
    assert not decide(ProposedEvent(type="m.room.member", sender=MEMBER, state_key=MEMBER, membership="join"), newcomer, usual()).allowed


def test_only_administrators_make_an_existing_room_public() -> None:
    public = ProposedEvent(type="m.room.join_rules", sender=MEMBER, state_key="", join_rule="public")
    verdict = decide(public, PRIVATE_ROOM, usual())
    assert not verdict.allowed and verdict.message == PUBLIC_ROOMS_RESERVED
    assert decide(public, PRIVATE_ROOM, usual(admin=True)).allowed
    invite_only = ProposedEvent(type="m.room.join_rules", sender=MEMBER, state_key="", join_rule="invite")
    assert decide(invite_only, PRIVATE_ROOM, usual()).allowed


def test_private_rooms_are_otherwise_untouched() -> None:
    for event in (
        ProposedEvent(type="m.room.message", sender=MEMBER),
        ProposedEvent(type="m.room.encryption", sender=MEMBER, state_key=""),
        ProposedEvent(type="m.room.power_levels", sender=MEMBER, state_key=""),
        ProposedEvent(type="m.room.member", sender=MEMBER, state_key=OWNER, membership="invite"),
    ):
        assert decide(event, PRIVATE_ROOM, usual()).allowed


def test_nobody_but_the_system_user_marks_a_room_as_channel() -> None:
    verdict = decide(ProposedEvent(type=CHANNEL_MARKER_EVENT_TYPE, sender=MEMBER, state_key=""), PRIVATE_ROOM, usual(admin=True))
    assert not verdict.allowed and verdict.message == MARKER_RESERVED


@pytest.mark.parametrize(
    "config",
    [
        {"preset": "public_chat"},
        {"visibility": "public"},
        {"visibility": "public", "room_alias_name": "umum"},
        {"initial_state": [{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "public"}}]},
    ],
)
def test_ordinary_user_cannot_create_a_public_room(config: dict) -> None:
    assert create_room_refusal(config, requester_is_admin=False, requester_is_system=False) == PUBLIC_ROOMS_RESERVED
    assert create_room_refusal(config, requester_is_admin=True, requester_is_system=False) is None


def test_ordinary_user_cannot_create_a_marked_room() -> None:
    config = {"initial_state": [{"type": CHANNEL_MARKER_EVENT_TYPE, "state_key": "", "content": {"owners": []}}]}
    assert create_room_refusal(config, requester_is_admin=False, requester_is_system=False) == MARKER_RESERVED


@pytest.mark.parametrize("config", [{}, {"preset": "private_chat"}, {"preset": "trusted_private_chat", "is_direct": True}, {"room_alias_name": "kita"}])
def test_private_conversations_are_created_as_usual(config: dict) -> None:
    assert create_room_refusal(config, requester_is_admin=False, requester_is_system=False) is None


def test_only_administrators_and_the_system_user_publish_to_the_directory() -> None:
    assert not may_publish_to_directory(user_is_admin=False, user_is_system=False)
    assert may_publish_to_directory(user_is_admin=True, user_is_system=False)
    assert may_publish_to_directory(user_is_admin=False, user_is_system=True)


def test_only_administrators_and_the_system_user_create_room_addresses() -> None:
    assert not may_create_alias(user_is_admin=False, user_is_system=False)
    assert may_create_alias(user_is_admin=True, user_is_system=False)
    assert may_create_alias(user_is_admin=False, user_is_system=True)


def test_malformed_marker_content_grants_nothing() -> None:
    marker = marker_from_content({"owners": "@pemilik:govchat.localhost", "info": "yes"})
    assert marker.owners == frozenset() and not marker.is_info


def test_own_membership_event_in_a_channel_carries_only_the_global_profile() -> None:
    from synapse_modules.public_channels.rules import Profile

    profile = Profile(display_name="Siti", avatar_url="mxc://x/a")
    how = Circumstances(system_user_id=SYSTEM, sender_is_admin=False, sender_is_deactivated=False, info_mandatory=True, sender_profile=profile)

    def join(**fields: object) -> ProposedEvent:
        return ProposedEvent(type="m.room.member", sender=MEMBER, state_key=MEMBER, membership="join", **fields)  # type: ignore[arg-type]

    assert decide(join(displayname="Siti", avatar_url="mxc://x/a"), CHANNEL, how).allowed
    assert decide(join(), CHANNEL, how).allowed
    for refused in (join(displayname="PENGUMUMAN RASMI"), join(avatar_url="mxc://x/b"), join(extra_member_keys=frozenset({"reason"}))):
        assert not decide(refused, CHANNEL, how).allowed
    leave_with_body = ProposedEvent(type="m.room.member", sender=MEMBER, state_key=MEMBER, membership="leave", extra_member_keys=frozenset({"body"}))
    assert not decide(leave_with_body, CHANNEL, how).allowed
    # Outside channels the rule does not apply.
    assert decide(join(displayname="Nama bilik"), RoomFacts(marker=None), how).allowed
