"""What one member does in a channel does not reach every other member: typing is not passed on
(channels.deliver_typing: false) and sharing a channel does not share online status
(channels.share_presence: false), since in a channel of many members either would wake every
member's waiting /sync. In ordinary rooms both reach the other members as in stock Synapse
(R5.2, docs/capacity.md)."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

from tests.harness import GovChatServer, User
from tests.integration.test_public_channels import create_channel, in_info

SYNC_DEADLINE_SECONDS = 30


def start_typing(server: GovChatServer, user: User, room_id: str) -> None:
    answer = server.client_api("PUT", f"/rooms/{quote(room_id)}/typing/{quote(user.user_id)}", user.access_token, json={"typing": True, "timeout": 20_000})
    assert answer.status_code == 200, answer.text


def typing_seen_by(server: GovChatServer, reader: User, since: str, until_typing_in: str) -> dict[str, set[str]]:
    """Who the reader's /sync shows typing, per room, up to the first sync that shows typing in `until_typing_in`.

    Synapse's typing stream is ordered, so typing started earlier elsewhere is in that sync or before it."""
    seen: dict[str, set[str]] = {}
    deadline = time.monotonic() + SYNC_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        # A unique filter each time: Synapse answers a repeated identical /sync from a short cache.
        filter_json = quote('{"room":{"timeline":{"limit":1}},"event_fields":["type","content","' + uuid.uuid4().hex + '"]}')
        body: dict[str, Any] = server.client_api("GET", f"/sync?since={since}&timeout=2000&filter={filter_json}", reader.access_token).json()
        since = body["next_batch"]
        for room_id, room in body.get("rooms", {}).get("join", {}).items():
            for event in room.get("ephemeral", {}).get("events", []):
                if event.get("type") == "m.typing":
                    seen.setdefault(room_id, set()).update(event["content"].get("user_ids", []))
        if seen.get(until_typing_in):
            return seen
    raise AssertionError(f"no typing in {until_typing_in} reached {reader.user_id} within {SYNC_DEADLINE_SECONDS} s")


def group_room(server: GovChatServer, creator: User, other: User) -> str:
    room_id = str(server.client_api("POST", "/createRoom", creator.access_token, json={"preset": "private_chat", "invite": [other.user_id]}).json()["room_id"])
    assert server.client_api("POST", f"/join/{quote(room_id)}", other.access_token, json={}).status_code == 200
    return room_id


def assert_typing_reaches_the_group_room_only(server: GovChatServer, typist: User, reader: User, channel: str) -> None:
    """The typist types in the channel and in a group room shared with the reader (the control): the reader's
    /sync shows the group room's typing, and none in the channel."""
    control = group_room(server, typist, reader)
    since = server.client_api("GET", "/sync?timeout=0", reader.access_token).json()["next_batch"]
    start_typing(server, typist, channel)
    start_typing(server, typist, control)
    seen = typing_seen_by(server, reader, since, until_typing_in=control)
    assert typist.user_id in seen[control]
    assert typist.user_id not in seen.get(channel, set())


def test_typing_in_info_does_not_reach_other_members(govchat: GovChatServer) -> None:
    typist, reader = govchat.register_plain_user(), govchat.register_plain_user()
    info = in_info(govchat, typist)
    assert in_info(govchat, reader) == info
    assert_typing_reaches_the_group_room_only(govchat, typist, reader, info)


def test_owner_typing_in_a_channel_does_not_reach_members(govchat: GovChatServer, admin: User) -> None:
    owner, reader = govchat.register_plain_user(), govchat.register_plain_user()
    channel = create_channel(govchat, admin, [owner.user_id])["room_id"]
    assert govchat.client_api("POST", f"/join/{quote(channel)}", reader.access_token, json={}).status_code == 200
    assert_typing_reaches_the_group_room_only(govchat, owner, reader, channel)


def presence_seen_by(server: GovChatServer, reader: User, since: str, until_online: str) -> set[str]:
    """Whose presence the reader's /sync shows, up to the first sync that shows `until_online`'s.

    Presence is one ordered stream, so an update made earlier is in that sync or before it."""
    seen: set[str] = set()
    deadline = time.monotonic() + SYNC_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        filter_json = quote('{"room":{"timeline":{"limit":1}},"event_fields":["type","sender","content","' + uuid.uuid4().hex + '"]}')
        body: dict[str, Any] = server.client_api(
            "GET", f"/sync?since={since}&timeout=2000&set_presence=offline&filter={filter_json}", reader.access_token
        ).json()
        since = body["next_batch"]
        seen |= {event["sender"] for event in body.get("presence", {}).get("events", []) if event.get("type") == "m.presence"}
        if until_online in seen:
            return seen
    raise AssertionError(f"{until_online}'s presence did not reach {reader.user_id} within {SYNC_DEADLINE_SECONDS} s")


def go_online(server: GovChatServer, user: User) -> None:
    answer = server.client_api("PUT", f"/presence/{quote(user.user_id)}/status", user.access_token, json={"presence": "online"})
    assert answer.status_code == 200, answer.text


def test_sharing_info_does_not_share_online_status_but_a_group_room_does(govchat: GovChatServer) -> None:
    in_info_only, reader, in_group = (govchat.register_plain_user() for _ in range(3))
    info = in_info(govchat, in_info_only)
    assert in_info(govchat, reader) == info
    group_room(govchat, in_group, reader)
    # The reader's first sync may list whoever was online before: start from after it.
    since = govchat.client_api("GET", "/sync?timeout=0&set_presence=offline", reader.access_token).json()["next_batch"]
    go_online(govchat, in_info_only)
    go_online(govchat, in_group)
    seen = presence_seen_by(govchat, reader, since, until_online=in_group.user_id)
    assert in_info_only.user_id not in seen
