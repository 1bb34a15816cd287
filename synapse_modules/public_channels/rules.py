"""Who may do what in GovChat's public channels: the one rule table, as plain functions.

Nothing here knows Synapse; the adapter (`module.py`) turns events and room
state into these plain values and raises the refusal this returns.

Rule table for an event in a channel (a room whose state holds the marker):

| Sender                          | May                                                                 |
| ------------------------------- | ------------------------------------------------------------------- |
| GovChat system user             | anything (bypass: it acts on administrators' API calls only)       |
| anyone                          | join (not an archived channel), change own display name, leave     |
|                                 | (INFO: not while `info_mandatory`); an own membership event carries |
|                                 | only the membership and the global profile's name and avatar: no    |
|                                 | body, relation, reason or per-room name shown to every reader       |
| server administrator (client)   | kick or ban (moderation; Synapse power levels still apply)          |
| owner (listed in the marker)    | any message-like event (messages, replies, threads, edits,          |
|                                 | reactions, polls, stickers, calls), redact any non-state event,     |
|                                 | invite, set name / topic / avatar / pinned events; nothing once the |
|                                 | channel is archived                                                 |
| member                          | nothing else                                                        |
| nobody but the system user      | power levels, join rules, encryption, history visibility, aliases,  |
|                                 | the marker, or any other state event                                |

Outside channels only these rules apply: the marker may be sent by the system user
only, and only server administrators may make a room public: join rule `public`, a
`restricted` / `knock_restricted` join rule allowing the members of a channel (every
user is in INFO, so that is public in all but name), or `world_readable` history,
which lets non-members read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, ChannelMarker

MEMBERSHIP = "m.room.member"
REDACTION = "m.room.redaction"
JOIN_RULES = "m.room.join_rules"
HISTORY_VISIBILITY = "m.room.history_visibility"
RESTRICTED_JOIN_RULES = frozenset({"restricted", "knock_restricted"})

# State an owner may change: how the channel presents itself, nothing about who may do what.
OWNER_STATE_TYPES = frozenset({"m.room.name", "m.room.topic", "m.room.avatar", "m.room.pinned_events"})


class Role(Enum):
    SYSTEM = "system"
    OWNER = "owner"
    MEMBER = "member"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str
    message: str = ""


def allow(rule: str) -> Verdict:
    return Verdict(True, rule)


def refuse(rule: str, message: str) -> Verdict:
    return Verdict(False, rule, message)


MEMBERS_CANNOT_POST = (
    "Hanya pemilik saluran boleh berkongsi di saluran ini; ahli lain hanya membaca. / "
    "Only the channel's owners can share in this channel; other members read only."
)
SETTINGS_RESERVED = (
    "Tetapan saluran hanya boleh diubah oleh pentadbir GovChat. / "
    "Only GovChat administrators can change a channel's settings."
)
INFO_IS_MANDATORY = (
    "Saluran INFO wajib bagi semua pengguna dan tidak boleh ditinggalkan. / "
    "The INFO channel is mandatory for every user and cannot be left."
)
CHANNEL_ARCHIVED = (
    "Saluran ini telah diarkibkan dan hanya boleh dibaca. / This channel is archived and is read-only."
)
MEMBERSHIP_RESERVED = (
    "Hanya pentadbir GovChat boleh mengeluarkan atau menyekat ahli saluran. / "
    "Only GovChat administrators can remove or ban channel members."
)
MARKER_RESERVED = (
    "Hanya pentadbir GovChat boleh menjadikan bilik sebagai saluran. / "
    "Only GovChat administrators can turn a room into a channel."
)
ALIASES_RESERVED = (
    "Hanya pentadbir pelayan GovChat boleh mewujudkan alamat bilik (#nama); perbualan peribadi tidak memerlukannya. / "
    "Only GovChat server administrators can create room addresses (#name); private conversations do not need one."
)
PUBLIC_ROOMS_RESERVED = (
    "Hanya pentadbir pelayan GovChat boleh mewujudkan bilik awam atau menyiarkan bilik dalam direktori; "
    "perbualan kumpulan peribadi dibenarkan. / "
    "Only GovChat server administrators can create public rooms or publish rooms in the directory; "
    "private group conversations are allowed."
)
MEMBER_EVENT_PROFILE_ONLY = (
    "Di saluran, acara keahlian anda hanya boleh membawa nama dan avatar profil anda, tanpa teks lain. / "
    "In a channel your membership event may carry only your profile's name and avatar, no other text."
)
INTERNAL_ERROR = (
    "Permintaan ditolak kerana ralat dalaman; sila cuba lagi atau hubungi pentadbir. / "
    "Refused because of an internal error; please try again or contact an administrator."
)


@dataclass(frozen=True)
class ProposedEvent:
    """The few facts about an event that the rules look at."""

    type: str
    sender: str
    state_key: str | None = None
    membership: str | None = None  # for m.room.member
    join_rule: str | None = None  # for m.room.join_rules
    redacts: str | None = None  # for m.room.redaction
    # For m.room.member: content keys other than membership, displayname and avatar_url,
    # and the name and avatar it shows (None when absent).
    extra_member_keys: frozenset[str] = frozenset()
    displayname: object = None
    avatar_url: object = None
    history_visibility: str | None = None  # for m.room.history_visibility

    @property
    def is_state(self) -> bool:
        return self.state_key is not None


@dataclass(frozen=True)
class RoomFacts:
    """What the rules need to know about the room, from its state before the event."""

    marker: ChannelMarker | None  # None: not a channel
    sender_membership: str | None = None  # the sender's membership before the event
    state_event_ids: frozenset[str] = frozenset()  # IDs of the current state events


MEMBER_CONTENT_KEYS = frozenset({"membership", "displayname", "avatar_url"})


@dataclass(frozen=True)
class Profile:
    """The sender's global profile, as set on their account."""

    display_name: str | None
    avatar_url: str | None


@dataclass(frozen=True)
class Circumstances:
    system_user_id: str
    sender_is_admin: bool
    sender_is_deactivated: bool
    info_mandatory: bool
    # Needed for the sender's own membership events in a channel; None: unknown (another server's user).
    sender_profile: Profile | None = None
    # For a restricted join rule: whether a room it lets members of join from is a channel.
    allows_channel_members: bool = False


def decide(event: ProposedEvent, room: RoomFacts, how: Circumstances) -> Verdict:
    """May this event enter this room? The whole rule table."""
    if event.sender == how.system_user_id:
        return allow("system user acts for administrators")
    if room.marker is None:
        return _decide_outside_channels(event, how)
    role = Role.OWNER if event.sender in room.marker.owners else Role.MEMBER
    if event.type == MEMBERSHIP:
        return _decide_membership(event, room, room.marker, how)
    if event.is_state:
        if role is Role.OWNER and event.type in OWNER_STATE_TYPES and event.state_key == "":
            return allow("owner presents the channel") if not room.marker.archived else refuse("archived", CHANNEL_ARCHIVED)
        return refuse("channel settings are reserved", SETTINGS_RESERVED)
    if role is Role.MEMBER:
        return refuse("members read only", MEMBERS_CANNOT_POST)
    if room.marker.archived:
        return refuse("archived", CHANNEL_ARCHIVED)
    if event.type == REDACTION and (event.redacts is None or event.redacts in room.state_event_ids):
        # Redacting current state would strip the marker or the power levels.
        return refuse("channel settings are reserved", SETTINGS_RESERVED)
    return allow("owner posts")


def _decide_outside_channels(event: ProposedEvent, how: Circumstances) -> Verdict:
    if event.type == MEMBERSHIP:
        return allow("membership outside channels")
    if event.is_state and event.type == CHANNEL_MARKER_EVENT_TYPE:
        return refuse("marker is reserved", MARKER_RESERVED)
    if event.type == JOIN_RULES and event.is_state and not how.sender_is_admin:
        if event.join_rule == "public":
            return refuse("public rooms are for administrators", PUBLIC_ROOMS_RESERVED)
        if event.join_rule in RESTRICTED_JOIN_RULES and how.allows_channel_members:
            return refuse("public rooms are for administrators", PUBLIC_ROOMS_RESERVED)
    if event.type == HISTORY_VISIBILITY and event.is_state and event.history_visibility == "world_readable" and not how.sender_is_admin:
        return refuse("public rooms are for administrators", PUBLIC_ROOMS_RESERVED)
    return allow("ordinary room")


def _decide_membership(event: ProposedEvent, room: RoomFacts, marker: ChannelMarker, how: Circumstances) -> Verdict:
    own = event.state_key == event.sender
    if own and not carries_only_profile(event, how.sender_profile):
        return refuse("membership carries only the profile", MEMBER_EVENT_PROFILE_ONLY)
    if own and event.membership == "join":
        if marker.archived and room.sender_membership != "join":
            return refuse("archived", CHANNEL_ARCHIVED)
        return allow("anyone joins a channel")
    if own and event.membership == "leave":
        if marker.is_info and how.info_mandatory and not how.sender_is_deactivated:
            return refuse("INFO is mandatory", INFO_IS_MANDATORY)
        return allow("anyone leaves a channel")
    if event.membership == "invite" and event.sender in marker.owners and not marker.archived:
        return allow("owner invites")
    if event.membership in ("leave", "ban") and not own and how.sender_is_admin:
        return allow("administrator moderates")
    if event.membership == "invite" and event.sender not in marker.owners:
        return refuse("members read only", MEMBERS_CANNOT_POST)
    return refuse("membership is reserved", MEMBERSHIP_RESERVED)


def carries_only_profile(event: ProposedEvent, profile: Profile | None) -> bool:
    """An own membership event in a channel shows no text of its own: only the global name and avatar."""
    if event.extra_member_keys:
        return False
    if profile is None:
        return True
    return event.displayname in (None, profile.display_name) and event.avatar_url in (None, profile.avatar_url)


def create_room_refusal(config: Mapping[str, Any], requester_is_admin: bool, requester_is_system: bool) -> str | None:
    """Why a createRoom request may not go ahead, or None. Only the public-room rule lives here."""
    if requester_is_admin or requester_is_system:
        return None
    if config.get("preset") == "public_chat" or config.get("visibility") == "public":
        return PUBLIC_ROOMS_RESERVED
    initial_state = config.get("initial_state")
    for entry in initial_state if isinstance(initial_state, list) else []:
        if not isinstance(entry, dict):
            continue
        content = entry.get("content")
        if entry.get("type") == CHANNEL_MARKER_EVENT_TYPE:
            return MARKER_RESERVED
        if entry.get("type") == JOIN_RULES and isinstance(content, dict) and content.get("join_rule") == "public":
            return PUBLIC_ROOMS_RESERVED
    return None


def may_publish_to_directory(user_is_admin: bool, user_is_system: bool) -> bool:
    return user_is_admin or user_is_system


def may_create_alias(user_is_admin: bool, user_is_system: bool) -> bool:
    """Room addresses (#name:server) are how people find official channels; letting
    anyone claim one would let them pass a room off as official (#info-rasmi)."""
    return user_is_admin or user_is_system


def passes_typing_on(in_channel: bool, deliver_typing: bool) -> bool:
    """Whether a typing notification reaches the room's members.

    In a channel only owners post, and one member's typing wakes the waiting /sync of
    every member, so by default (`channels.deliver_typing: false`) it goes nowhere.
    """
    return deliver_typing or not in_channel


def rooms_hidden_from_presence(channel_room_ids: list[str], share_presence: bool) -> frozenset[str]:
    """Rooms whose sharing does not share online status: every channel, unless the operator shares it."""
    return frozenset() if share_presence else frozenset(channel_room_ids)
