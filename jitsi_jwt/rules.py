"""GCMeet's decisions as plain functions of plain values: who may enter, and with which token.

Nothing here knows about Synapse; the module and servlets feed it room state and the clock.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from jitsi_jwt.config import GCMeetConfig

# Signed tokens say "valid from" a little in the past so a Prosody clock slightly
# behind the homeserver's still accepts a fresh token.
CLOCK_SKEW_SECONDS = 30

# Room versions with MSC4289 (v12) give creators a power above every number;
# written as the largest integer JSON clients read exactly.
CREATOR_POWER_LEVEL = 2**53 - 1

# "!" then printable ASCII without spaces: both "!opaque:server" and v12's "!hash".
_ROOM_ID = re.compile(r"![\x21-\x7e]{1,254}")


@dataclass(frozen=True)
class Member:
    """A user's standing in a room, read from its current state."""

    user_id: str
    display_name: str
    avatar_url: str
    power_level: int


@dataclass(frozen=True)
class IssuedToken:
    jwt: str
    conference: str
    domain: str
    url: str
    expires_at: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "jwt": self.jwt,
            "conference": self.conference,
            "domain": self.domain,
            "url": self.url,
            "expires_at": self.expires_at,
        }


def is_valid_room_id(value: object) -> bool:
    return isinstance(value, str) and _ROOM_ID.fullmatch(value) is not None


def conference_name(room_id: str) -> str:
    """The Jitsi conference for a room: its ID in lower-case unpadded base32.

    The same name Element's openidtoken-jwt calls use. Base32 has one letter case,
    so Jitsi lower-casing room names cannot make two rooms share a conference.
    """
    return base64.b32encode(room_id.encode("utf-8")).decode("ascii").rstrip("=").lower()


def room_id_from_conference(conference: str) -> str | None:
    """The inverse of conference_name, or None if the name is not one of ours."""
    padded = conference.upper() + "=" * (-len(conference) % 8)
    try:
        room_id = base64.b32decode(padded).decode("utf-8")
    except ValueError:
        return None
    return room_id if is_valid_room_id(room_id) else None


CHANNEL_MEETINGS_FOR_OWNERS = (
    "Di saluran awam, hanya pemilik saluran boleh mengadakan panggilan video; ahli lain hanya membaca. / "
    "In public channels only the channel's owners can hold video meetings; other members read only."
)


def may_meet_in_channel(user_id: str, channel_owners: frozenset[str] | None) -> bool:
    """Public channels (INFO among them) are broadcasts: a meeting there is for its owners only.

    `channel_owners` is None for a room that is not a channel: every joined member may meet.
    """
    return channel_owners is None or user_id in channel_owners


def is_joined(member_content: Mapping[str, Any] | None) -> bool:
    """Only "join" counts: invited, knocking, left and banned users stay outside."""
    return member_content is not None and member_content.get("membership") == "join"


def power_level(
    user_id: str,
    power_levels: Mapping[str, Any] | None,
    creators: frozenset[str],
    creators_outrank_everyone: bool = False,
) -> int:
    """The user's power level as the Matrix specification defines it (creators from m.room.create)."""
    if creators_outrank_everyone and user_id in creators:
        return CREATOR_POWER_LEVEL
    if power_levels is None:
        # Without a power-levels event the creator has 100 and everyone else 0.
        return 100 if user_id in creators else 0
    users = power_levels.get("users")
    if isinstance(users, Mapping) and user_id in users:
        return _as_int(users[user_id])
    return _as_int(power_levels.get("users_default", 0))


def room_power_defaults(power_levels: Mapping[str, Any] | None) -> dict[str, Any]:
    """The room's power-levels content without the per-user map, as the verification answer carries."""
    if power_levels is None:
        return {"events_default": 0, "state_default": 50, "users_default": 0, "ban": 50, "kick": 50, "redact": 50, "invite": 0, "events": {}}
    return {key: value for key, value in power_levels.items() if key != "users"}


def build_claims(config: GCMeetConfig, member: Member, room_id: str, now: int, jti: str | None = None) -> dict[str, Any]:
    """The claims Prosody's token authentication (jitsi-meet-tokens) checks, for one member and room."""
    return {
        "iss": config.app_id,
        "aud": config.audience,
        "sub": config.domain,
        "room": conference_name(room_id),
        "iat": now,
        "nbf": now - CLOCK_SKEW_SECONDS,
        "exp": now + config.token_lifetime_seconds,
        "jti": jti or uuid.uuid4().hex,
        "moderator": member.power_level >= config.moderator_power_level,
        "context": {
            "user": {
                "id": member.user_id,
                "name": member.display_name,
                "avatar": member.avatar_url,
                "moderator": member.power_level >= config.moderator_power_level,
            },
        },
    }


def issue_token(config: GCMeetConfig, member: Member, room_id: str, now: int) -> IssuedToken:
    claims = build_claims(config, member, room_id, now)
    signing = config.signing
    headers = {"kid": signing.kid} if signing.kid else None
    encoded = jwt.encode(claims, signing.key, algorithm=signing.algorithm, headers=headers)
    conference = claims["room"]
    return IssuedToken(
        jwt=encoded,
        conference=conference,
        domain=config.domain,
        url=f"https://{config.domain}/{conference}",
        expires_at=claims["exp"],
    )


def display_name(user_id: str, member_content: Mapping[str, Any] | None) -> str:
    name = member_content.get("displayname") if member_content else None
    if isinstance(name, str) and name.strip():
        return name.strip()
    return user_id[1:].split(":", 1)[0]


def avatar_http_url(public_baseurl: str, member_content: Mapping[str, Any] | None) -> str:
    """The member's avatar as a URL a browser can load, or "" when there is none."""
    mxc = member_content.get("avatar_url") if member_content else None
    if not isinstance(mxc, str) or not mxc.startswith("mxc://"):
        return ""
    server_and_id = mxc[len("mxc://") :]
    if server_and_id.count("/") != 1:
        return ""
    return f"{public_baseurl.rstrip('/')}/_matrix/media/v3/download/{server_and_id}"


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        # Old room versions allow power levels written as strings.
        return int(value)
    return 0
