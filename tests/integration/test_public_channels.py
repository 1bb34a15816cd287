"""Public channels on a real homeserver: INFO for everyone, owners post, members read,
only administrators create public rooms (R5.1-R5.4)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from nio import AsyncClient, RoomMessageText

from tests.harness import REPO_ROOT, GovChatServer, User
from tests.nio_clients import run

CHANNELS_API = "/_synapse/client/govchat/v1/channels"


def in_info(server: GovChatServer, user: User, timeout: float = 20) -> str:
    """INFO's room ID once the user is joined (the join runs just after registration)."""
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        if info is None:  # right after a start, INFO may not have been created yet
            info = server.client_api("GET", f"/directory/room/{quote('#info:' + server.server_name)}").json().get("room_id")
        if info is not None and info in server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"]:
            return str(info)
        time.sleep(0.1)
    raise AssertionError(f"{user.user_id} is not in INFO after {timeout} s")


def create_channel(server: GovChatServer, admin: User, owners: list[str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Pengumuman Ujian", "alias": f"ujian-{uuid.uuid4().hex[:8]}", "topic": "Ujian", "owners": owners, **fields}
    answer = server.request("POST", CHANNELS_API, admin.access_token, json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def send(server: GovChatServer, user: User, room_id: str, event_type: str, content: dict[str, Any]) -> Any:
    return server.client_api("PUT", f"/rooms/{room_id}/send/{event_type}/{uuid.uuid4().hex}", user.access_token, json=content)


def put_state(server: GovChatServer, user: User, room_id: str, event_type: str, content: dict[str, Any], key: str = "") -> Any:
    return server.client_api("PUT", f"/rooms/{room_id}/state/{event_type}/{key}", user.access_token, json=content)


def redact_current_state(server: GovChatServer, user: User, room_id: str, event_type: str, key: str = "") -> Any:
    """Redact the room's current `event_type`/`key` state event (which strips its content)."""
    state = server.client_api("GET", f"/rooms/{quote(room_id)}/state", user.access_token).json()
    event_id = next(ev["event_id"] for ev in state if ev["type"] == event_type and ev["state_key"] == key)
    return server.client_api("PUT", f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/{uuid.uuid4().hex}", user.access_token, json={})


def channel_list(server: GovChatServer, admin: User) -> list[dict[str, Any]]:
    return list(server.request("GET", CHANNELS_API, admin.access_token).json()["channels"])


@pytest.fixture(scope="module")
def channel(govchat: GovChatServer, admin: User) -> dict[str, Any]:
    owner = govchat.register_plain_user()
    member = govchat.register_plain_user()
    created = create_channel(govchat, admin, [owner.user_id])
    assert govchat.client_api("POST", f"/join/{quote(created['room_id'])}", member.access_token).status_code == 200
    post = send(govchat, owner, created["room_id"], "m.room.message", {"msgtype": "m.text", "body": "Pekeliling 1/2026"})
    assert post.status_code == 200, post.text
    return {**created, "owner": owner, "member": member, "post": post.json()["event_id"]}


# --- INFO ---------------------------------------------------------------------------


def test_user_registered_with_official_email_is_in_info(govchat: GovChatServer) -> None:
    user = govchat.register_with_email(f"pegawai.{uuid.uuid4().hex[:6]}@mampu.gov.my")
    info = in_info(govchat, user)
    name = govchat.client_api("GET", f"/rooms/{info}/state/m.room.name/", user.access_token).json()
    assert name["name"] == "INFO"


def test_leaving_info_is_refused_while_mandatory(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    info = in_info(govchat, user)
    answer = govchat.client_api("POST", f"/rooms/{info}/leave", user.access_token, json={})
    assert answer.status_code == 403 and answer.json()["errcode"] == "M_FORBIDDEN"
    assert "INFO" in answer.json()["error"] and " / " in answer.json()["error"]
    assert info in govchat.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"]


def test_member_cannot_post_in_info(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    info = in_info(govchat, user)
    assert send(govchat, user, info, "m.room.message", {"msgtype": "m.text", "body": "hai"}).status_code == 403


def test_a_burst_of_registrations_joins_every_user_to_info(govchat: GovChatServer) -> None:
    # Registrations at the same moment: each process joins one user to INFO at a time and leaves the others
    # to the queue's drain, so every one of them must still end up in INFO, soon.
    with ThreadPoolExecutor(12) as pool:
        users = list(pool.map(lambda _: govchat.register_plain_user(), range(12)))
    assert len({in_info(govchat, user, timeout=60) for user in users}) == 1


# --- who may do what in a channel -------------------------------------------------------

Action = Callable[[GovChatServer, User, dict[str, Any]], Any]


def _text(body: str, **extra: Any) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body, **extra}


ACTIONS: dict[str, Action] = {
    "message": lambda s, u, c: send(s, u, c["room_id"], "m.room.message", _text("hai")),
    "reply": lambda s, u, c: send(s, u, c["room_id"], "m.room.message", _text("balas", **{"m.relates_to": {"m.in_reply_to": {"event_id": c["post"]}}})),
    "thread reply": lambda s, u, c: send(
        s, u, c["room_id"], "m.room.message", _text("bebenang", **{"m.relates_to": {"rel_type": "m.thread", "event_id": c["post"]}})
    ),
    "edit": lambda s, u, c: send(
        s, u, c["room_id"], "m.room.message",
        _text("* suntingan", **{"m.new_content": _text("suntingan"), "m.relates_to": {"rel_type": "m.replace", "event_id": c["post"]}}),
    ),
    "reaction": lambda s, u, c: send(s, u, c["room_id"], "m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": c["post"], "key": f"👍{uuid.uuid4().hex[:4]}"}}),
    "poll": lambda s, u, c: send(
        s, u, c["room_id"], "org.matrix.msc3381.poll.start",
        {"org.matrix.msc3381.poll.start": {"question": {"body": "Setuju?"}, "answers": [{"id": "y", "body": "Ya"}], "kind": "org.matrix.msc3381.poll.disclosed"}},
    ),
    "sticker": lambda s, u, c: send(s, u, c["room_id"], "m.sticker", {"body": "pelekat", "url": "mxc://govchat.localhost/x", "info": {}}),
    "group call": lambda s, u, c: send(s, u, c["room_id"], "org.matrix.msc4075.rtc.notification", {"notification_type": "notification", "m.mentions": {"room": True}}),
    "redaction of the owner's post": lambda s, u, c: s.client_api(
        "PUT", f"/rooms/{c['room_id']}/redact/{quote(c['post'])}/{uuid.uuid4().hex}", u.access_token, json={}
    ),
    "invite": lambda s, u, c: s.client_api("POST", f"/rooms/{c['room_id']}/invite", u.access_token, json={"user_id": s.register_plain_user().user_id}),
    "name": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.name", {"name": "Nama Baharu"}),
    "topic": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.topic", {"topic": "Topik baharu"}),
    "avatar": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.avatar", {"url": "mxc://govchat.localhost/avatar"}),
}
SETTINGS_ACTIONS: dict[str, Action] = {
    # Synapse itself refuses 1:1 call invites in public rooms, to owners too.
    "call invite": lambda s, u, c: send(s, u, c["room_id"], "m.call.invite", {"call_id": "c1", "version": "1", "lifetime": 60000, "offer": {"type": "offer", "sdp": "v=0"}}),
    "widget": lambda s, u, c: put_state(s, u, c["room_id"], "im.vector.modular.widgets", {"type": "m.custom", "url": "https://x.example"}, key="w1"),
    "power levels": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.power_levels", {"users": {u.user_id: 100}, "events_default": 0}),
    "join rules": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.join_rules", {"join_rule": "invite"}),
    "encryption": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}),
    "history visibility": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.history_visibility", {"history_visibility": "joined"}),
    "aliases": lambda s, u, c: put_state(s, u, c["room_id"], "m.room.canonical_alias", {"alias": None}),
    "channel marker": lambda s, u, c: put_state(s, u, c["room_id"], "my.gov.govchat.channel", {"owners": [u.user_id]}),
    # Redactions of current state: Synapse's event rules are given only the members an event is about, so the
    # member whose join is redacted must be among them (the owner has the redact level Synapse asks for).
    "redaction of the channel marker": lambda s, u, c: redact_current_state(s, u, c["room_id"], "my.gov.govchat.channel"),
    "redaction of the power levels": lambda s, u, c: redact_current_state(s, u, c["room_id"], "m.room.power_levels"),
    "redaction of a member's join": lambda s, u, c: redact_current_state(s, u, c["room_id"], "m.room.member", c["member"].user_id),
}


@pytest.mark.parametrize("action", [*ACTIONS, *SETTINGS_ACTIONS])
def test_member_is_refused(govchat: GovChatServer, channel: dict[str, Any], action: str) -> None:
    answer = {**ACTIONS, **SETTINGS_ACTIONS}[action](govchat, channel["member"], channel)
    assert answer.status_code == 403, answer.text
    assert answer.json()["errcode"] == "M_FORBIDDEN"


@pytest.mark.parametrize("action", list(ACTIONS))
def test_owner_succeeds(govchat: GovChatServer, channel: dict[str, Any], action: str) -> None:
    if action == "redaction of the owner's post":
        channel = {**channel, "post": send(govchat, channel["owner"], channel["room_id"], "m.room.message", _text("padam")).json()["event_id"]}
    answer = ACTIONS[action](govchat, channel["owner"], channel)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("action", list(SETTINGS_ACTIONS))
def test_owner_cannot_change_who_may_do_what(govchat: GovChatServer, channel: dict[str, Any], action: str) -> None:
    assert SETTINGS_ACTIONS[action](govchat, channel["owner"], channel).status_code == 403


def test_admin_appoints_an_owner_who_posts_and_a_removed_owner_cannot(govchat: GovChatServer, admin: User) -> None:
    created = create_channel(govchat, admin, [])
    room = quote(created["room_id"])
    person = govchat.register_plain_user()
    appointed = govchat.request("POST", f"{CHANNELS_API}/{room}/owners", admin.access_token, json={"user_id": person.user_id})
    assert appointed.status_code == 200 and appointed.json()["owners"] == [person.user_id]
    assert send(govchat, person, created["room_id"], "m.room.message", _text("Selamat datang")).status_code == 200
    removed = govchat.request("DELETE", f"{CHANNELS_API}/{room}/owners/{quote(person.user_id)}", admin.access_token)
    assert removed.status_code == 200 and removed.json()["owners"] == []
    assert send(govchat, person, created["room_id"], "m.room.message", _text("Lagi")).status_code == 403


def test_owner_post_reaches_a_member_through_sync(govchat: GovChatServer, channel: dict[str, Any]) -> None:
    async def scenario() -> None:
        reader = AsyncClient(govchat.base_url, channel["member"].user_id)
        reader.access_token, reader.user_id = channel["member"].access_token, channel["member"].user_id
        try:
            await reader.sync(timeout=0)
            body = f"Makluman {uuid.uuid4().hex[:6]}"
            assert send(govchat, channel["owner"], channel["room_id"], "m.room.message", _text(body)).status_code == 200
            seen: list[str] = []
            deadline = time.monotonic() + 20
            while body not in seen and time.monotonic() < deadline:
                answer = await reader.sync(timeout=2000)
                room = answer.rooms.join.get(channel["room_id"]) if hasattr(answer, "rooms") else None
                seen += [event.body for event in (room.timeline.events if room else []) if isinstance(event, RoomMessageText)]
            assert body in seen
        finally:
            await reader.close()

    run(scenario())


# --- public rooms and the directory -------------------------------------------------------


@pytest.mark.parametrize(
    "request_body",
    [{"preset": "public_chat"}, {"visibility": "public"}, {"preset": "public_chat", "room_alias_name": f"umum{uuid.uuid4().hex[:6]}", "visibility": "public"}],
)
def test_ordinary_user_cannot_create_a_public_room(govchat: GovChatServer, request_body: dict[str, Any]) -> None:
    user = govchat.register_plain_user()
    answer = govchat.client_api("POST", "/createRoom", user.access_token, json=request_body)
    assert answer.status_code == 403 and answer.json()["errcode"] == "M_FORBIDDEN"
    assert "Only GovChat server administrators can create public rooms" in answer.json()["error"]


def test_ordinary_user_cannot_make_a_room_public_later(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    room_id = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    assert put_state(govchat, user, room_id, "m.room.join_rules", {"join_rule": "public"}).status_code == 403
    publish = govchat.client_api("PUT", f"/directory/list/room/{room_id}", user.access_token, json={"visibility": "public"})
    assert publish.status_code == 403 and "directory" in publish.json()["error"]


def test_ordinary_user_cannot_claim_a_room_address(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    room_id = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    alias = f"#info-rasmi-{uuid.uuid4().hex[:6]}:{govchat.server_name}"
    claimed = govchat.client_api("PUT", f"/directory/room/{quote(alias)}", user.access_token, json={"room_id": room_id})
    assert claimed.status_code == 403 and claimed.json()["errcode"] == "M_FORBIDDEN"
    assert "room addresses" in claimed.json()["error"]
    assert govchat.client_api("GET", f"/directory/room/{quote(alias)}").status_code == 404
    with_alias = {"preset": "private_chat", "room_alias_name": f"pengumuman-{uuid.uuid4().hex[:6]}"}
    assert govchat.client_api("POST", "/createRoom", user.access_token, json=with_alias).status_code == 403


def test_administrator_may_give_a_room_an_address(govchat: GovChatServer, admin: User) -> None:
    room_id = govchat.client_api("POST", "/createRoom", admin.access_token, json={"preset": "private_chat"}).json()["room_id"]
    alias = f"#bilik-{uuid.uuid4().hex[:6]}:{govchat.server_name}"
    assert govchat.client_api("PUT", f"/directory/room/{quote(alias)}", admin.access_token, json={"room_id": room_id}).status_code == 200
    assert govchat.client_api("GET", f"/directory/room/{quote(alias)}").json()["room_id"] == room_id


def test_private_conversations_still_work(govchat: GovChatServer) -> None:
    user, friend = govchat.register_plain_user(), govchat.register_plain_user()
    group = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat", "invite": [friend.user_id]})
    assert group.status_code == 200, group.text
    room_id = group.json()["room_id"]
    encryption = govchat.client_api("GET", f"/rooms/{room_id}/state/m.room.encryption/", user.access_token)
    assert encryption.status_code == 200  # encrypted from the start
    assert govchat.client_api("POST", f"/join/{room_id}", friend.access_token).status_code == 200
    assert send(govchat, friend, room_id, "m.room.message", _text("hai")).status_code == 200
    direct = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "trusted_private_chat", "is_direct": True, "invite": [friend.user_id]})
    assert direct.status_code == 200, direct.text


def test_administrator_may_create_a_public_room(govchat: GovChatServer, admin: User) -> None:
    answer = govchat.client_api("POST", "/createRoom", admin.access_token, json={"preset": "public_chat", "visibility": "public"})
    assert answer.status_code == 200, answer.text


def test_directory_lists_channels_and_any_user_joins(govchat: GovChatServer, admin: User) -> None:
    created = create_channel(govchat, admin, [])
    info = govchat.client_api("GET", f"/directory/room/{quote('#info:' + govchat.server_name)}").json()["room_id"]

    def listed() -> set[str]:
        chunk = govchat.client_api("POST", "/publicRooms", admin.access_token, json={"limit": 1000}).json()["chunk"]
        return {room["room_id"] for room in chunk}

    # Synapse caches the directory listing for a few seconds on each process.
    deadline = time.monotonic() + 30
    while not {created["room_id"], info} <= listed() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert {created["room_id"], info} <= listed()
    user = govchat.register_plain_user()
    assert govchat.client_api("POST", f"/join/{quote(created['alias'])}", user.access_token).status_code == 200
    state = govchat.client_api("GET", f"/rooms/{created['room_id']}/state", user.access_token).json()
    assert not any(event["type"] == "m.room.encryption" for event in state)
    visibility = [event for event in state if event["type"] == "m.room.history_visibility"][0]
    assert visibility["content"]["history_visibility"] == "shared"


def test_archived_channel_is_read_only_and_leaves_the_directory(govchat: GovChatServer, admin: User) -> None:
    owner = govchat.register_plain_user()
    created = create_channel(govchat, admin, [owner.user_id])
    archived = govchat.request("POST", f"{CHANNELS_API}/{quote(created['room_id'])}/archive", admin.access_token, json={})
    assert archived.status_code == 200 and archived.json()["archived"] and not archived.json()["in_directory"]
    assert send(govchat, owner, created["room_id"], "m.room.message", _text("masih?")).status_code == 403


# --- the admin API ----------------------------------------------------------------------


def test_channel_list_shows_member_counts_and_owners(govchat: GovChatServer, admin: User, channel: dict[str, Any]) -> None:
    listed = {entry["room_id"]: entry for entry in channel_list(govchat, admin)}
    entry = listed[channel["room_id"]]
    assert entry["owners"] == [channel["owner"].user_id] and entry["member_count"] >= 2 and entry["in_directory"]
    assert sum(1 for item in listed.values() if item["info"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "alias": "kosong"}, "name"),
        ({"name": "Tiada pemilik", "alias": "tiada-pemilik", "owners": ["@tiada-sesiapa-ini:govchat.localhost"]}, "owners"),
        ({"name": "Alias bertindih", "alias": "info"}, "alias"),
        (b"{bukan json", "body"),
    ],
)
def test_bad_channel_request_is_refused_and_changes_nothing(govchat: GovChatServer, admin: User, body: Any, field: str) -> None:
    before = len(channel_list(govchat, admin))
    if isinstance(body, bytes):
        answer = govchat.request("POST", CHANNELS_API, admin.access_token, data=body)
    else:
        answer = govchat.request("POST", CHANNELS_API, admin.access_token, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field and " / " in answer.json()["error"]
    assert len(channel_list(govchat, admin)) == before


def test_duplicate_alias_is_refused(govchat: GovChatServer, admin: User, channel: dict[str, Any]) -> None:
    answer = govchat.request("POST", CHANNELS_API, admin.access_token, json={"name": "Sama", "alias": channel["alias"]})
    assert answer.status_code == 400 and answer.json()["field"] == "alias"


def test_ordinary_user_cannot_use_the_channels_api(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    assert govchat.request("GET", CHANNELS_API, user.access_token).status_code == 403
    assert govchat.request("POST", CHANNELS_API, user.access_token, json={"name": "X", "alias": "x"}).status_code == 403


def test_console_command_creates_appoints_and_lists(govchat: GovChatServer, admin: User) -> None:
    owner = govchat.register_plain_user()
    alias = f"konsol-{uuid.uuid4().hex[:6]}"

    def govchat_command(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "govchat", "channels", *arguments, "--token", admin.access_token, "--url", govchat.base_url],
            cwd=REPO_ROOT, env=govchat.environment(), capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert alias in govchat_command("create", "--name", "Konsol", "--alias", alias)
    full_alias = f"#{alias}:{govchat.server_name}"
    assert owner.user_id in govchat_command("add-owner", full_alias, owner.user_id)
    assert alias in govchat_command("list")
    assert owner.user_id not in govchat_command("remove-owner", full_alias, owner.user_id)
    assert "archived" in govchat_command("archive", full_alias)


# --- switching the feature on, restarting ----------------------------------------------------


# Regression: INFO joins went through Synapse's client join rate limits (`rc_joins_per_room`,
# default 1 per second and burst 10 per room), so in a burst of registrations, or in the start-up
# sweep, joins past the burst got 429 and some users never joined INFO. The server's own joins must
# not be limited, like Synapse's `auto_join_rooms`. A strict limit here makes every limited join fail.
STRICT_JOIN_LIMIT = {"rc_joins_per_room": {"per_second": 0.001, "burst_count": 2}}


def test_switching_channels_on_joins_existing_users_and_restart_keeps_one_info(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = {"channels": {"enabled": False}, "synapse_extra": STRICT_JOIN_LIMIT}
    server = GovChatServer(data_dir=tmp_path_factory.mktemp("channels-switch"), settings=settings)
    server.start()
    try:
        # More users than the per-room join burst: the start-up sweep joins them all at once.
        earlier = [server.register_plain_user() for _ in range(5)]
        assert server.client_api("GET", "/directory/room/%23info%3Agovchat.localhost").status_code == 404
    finally:
        server.stop()
    settings_file = server.data_dir / "govchat.yaml"
    settings = yaml.safe_load(settings_file.read_text())
    settings["channels"] = {"enabled": True}
    settings_file.write_text(yaml.safe_dump(settings))
    server.start()
    try:
        info = {in_info(server, user) for user in earlier}
        assert len(info) == 1
    finally:
        server.stop()
    server.start()
    try:
        admin = server.register_admin()
        infos = [entry for entry in channel_list(server, admin) if entry["info"]]
        assert [entry["room_id"] for entry in infos] == list(info)
        # Registrations in a row, past the join burst, each join INFO.
        assert {in_info(server, server.register_plain_user()) for _ in range(4)} == info
    finally:
        server.stop()
