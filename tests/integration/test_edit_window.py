"""Edits and deletions only within the edit window, enforced by the server even with E2EE (R4.3).

One GovChat homeserver with a 3-second window serves every test here. Tests
inside the window run first; the `late` fixture then sends every message the
late checks need, waits out the window once, and the late tests follow.
Encrypted rooms are driven by matrix-nio clients (real Megolm encryption; the
edit's `m.relates_to` is kept in clear text, as Element sends it), hostile
cases by raw HTTP.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from nio import AsyncClient

from synapse_modules.edit_window.rule import Refusal
from tests.harness import GovChatServer, User
from tests.nio_clients import e2ee_client

pytestmark = pytest.mark.integration

WINDOW = 3
ROOMS = ["plain", "encrypted"]
KINDS: dict[str, dict[str, Any]] = {
    "text": {"msgtype": "m.text", "body": "Mesyuarat jam 3 petang"},
    "file": {"msgtype": "m.file", "body": "minit.pdf", "url": "mxc://govchat.localhost/minit", "info": {"mimetype": "application/pdf"}},
    "image": {"msgtype": "m.image", "body": "carta.png", "url": "mxc://govchat.localhost/carta", "info": {"mimetype": "image/png"}},
    "audio": {"msgtype": "m.audio", "body": "pesanan.ogg", "url": "mxc://govchat.localhost/suara", "info": {"mimetype": "audio/ogg"}},
    "video": {"msgtype": "m.video", "body": "taklimat.mp4", "url": "mxc://govchat.localhost/video", "info": {"mimetype": "video/mp4"}},
    "emoji": {"msgtype": "m.text", "body": "👍🎉"},
}
LATE_EDIT = Refusal.LATE_EDIT.sentence(WINDOW)
LATE_REDACTION = Refusal.LATE_REDACTION.sentence(WINDOW)
NOT_YOURS = Refusal.NOT_YOUR_MESSAGE.sentence(WINDOW)
UNKNOWN = Refusal.UNKNOWN_MESSAGE.sentence(WINDOW)


def replace(event_id: str) -> dict[str, str]:
    return {"rel_type": "m.replace", "event_id": event_id}


def edit_content(original: dict[str, Any], event_id: str, body: str = "dipinda / amended") -> dict[str, Any]:
    new_content = {**original, "body": body}
    return {**new_content, "body": f"* {body}", "m.new_content": new_content, "m.relates_to": replace(event_id)}


def assert_refused(answer: requests.Response, sentence: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json() == {"errcode": "M_FORBIDDEN", "error": sentence}


def assert_accepted(answer: requests.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["event_id"])


@dataclass
class Scene:
    server: GovChatServer
    alice: User
    bob: User
    carol: User  # a room moderator (power level 50, the default `redact` level)
    admin: User
    rooms: dict[str, str]
    nio: dict[str, AsyncClient]
    loop: asyncio.AbstractEventLoop
    late_originals: dict[str, str] = field(default_factory=dict)

    def encrypted(self, room: str) -> bool:
        return room == "encrypted"

    def send(self, user: User, room: str, content: dict[str, Any], type: str = "m.room.message") -> requests.Response:
        """Send as the user's Element would: in the encrypted room, Megolm-encrypted by their nio device.

        Users without a nio device (the moderator) send in clear text, which the server accepts too.
        """
        return self.raw_send(*self.payload(user, room, content, type))

    def payload(self, user: User, room: str, content: dict[str, Any], type: str = "m.room.message") -> tuple[str, str, str, dict[str, Any]]:
        """The access token, room ID, event type and content `send` would PUT (encrypted where Element encrypts)."""
        token = user.access_token
        if self.encrypted(room) and type == "m.room.message" and user.user_id in self.nio:
            client = self.nio[user.user_id]
            token = str(client.access_token)
            relation = content.get("m.relates_to")
            content = self.loop.run_until_complete(encrypt(client, self.rooms[room], type, content))
            if relation is not None:
                content["m.relates_to"] = relation  # Clear text, where the server and Element read it.
            type = "m.room.encrypted"
        return token, self.rooms[room], type, content

    def sent_at(self, room: str, event_id: str) -> float:
        """When the server stamped the event (origin_server_ts), in seconds on the same clock as time.time()."""
        event = self.server.client_api("GET", f"/rooms/{self.rooms[room]}/event/{event_id}", self.alice.access_token).json()
        return int(event["origin_server_ts"]) / 1000

    def raw_send(self, token: str, room_id: str, type: str, content: dict[str, Any]) -> requests.Response:
        return self.server.client_api("PUT", f"/rooms/{room_id}/send/{type}/{uuid.uuid4().hex}", token, json=content)

    def post(self, user: User, room: str, content: dict[str, Any]) -> str:
        return assert_accepted(self.send(user, room, content))

    def redact(self, user: User, room_id: str, event_id: str) -> requests.Response:
        return self.server.client_api("PUT", f"/rooms/{room_id}/redact/{event_id}/{uuid.uuid4().hex}", user.access_token, json={})

    def is_redacted(self, room_id: str, event_id: str) -> bool:
        event = self.server.client_api("GET", f"/rooms/{room_id}/event/{event_id}", self.alice.access_token).json()
        return "redacted_because" in event.get("unsigned", {})


async def encrypt(client: AsyncClient, room_id: str, type: str, content: dict[str, Any]) -> dict[str, Any]:
    """Megolm-encrypt like nio's room_send, but hand back the payload so a relation can be added."""
    await client.sync(timeout=0)
    if client.should_query_keys:
        await client.keys_query()
    if not client.rooms[room_id].members_synced:
        await client.joined_members(room_id)
    if client.olm.should_share_group_session(room_id):
        await client.share_group_session(room_id, ignore_unverified_devices=True)
    return dict(client.olm.group_encrypt(room_id, {"type": type, "content": content}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    with GovChatServer(data_dir=tmp_path_factory.mktemp("edit-window"), settings={"messages": {"edit_window_seconds": WINDOW}}).running() as server:
        yield server


@pytest.fixture(scope="module")
def scene(server: GovChatServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    alice, bob, carol = (server.register_plain_user() for _ in range(3))
    admin = server.register_admin()
    # Only administrators may create unencrypted (public) rooms in GovChat; private ones are encrypted.
    rooms = {
        "plain": _room(server, admin, [alice, bob, carol], carol, {"preset": "public_chat"}),
        "encrypted": _room(server, alice, [bob, carol, admin], carol, {"preset": "private_chat"}),
        "v10": _room(server, admin, [alice, bob, carol], carol, {"preset": "public_chat", "room_version": "10"}),
        "other": _room(server, admin, [alice, bob, carol], carol, {"preset": "public_chat"}),
        "admin": _room(server, admin, [alice, bob, carol], carol, {"preset": "public_chat"}),
    }
    encryption = server.client_api("GET", f"/rooms/{rooms['encrypted']}/state/m.room.encryption", alice.access_token)
    assert encryption.status_code == 200
    loop = asyncio.new_event_loop()
    store = tmp_path_factory.mktemp("edit-window-nio")
    nio = {user.user_id: loop.run_until_complete(e2ee_client(server, user, store / user.localpart)) for user in (alice, bob)}
    try:
        yield Scene(server, alice, bob, carol, admin, rooms, nio, loop)
    finally:
        for client in nio.values():
            loop.run_until_complete(client.close())
        loop.close()


def _room(server: GovChatServer, creator: User, members: list[User], moderator: User, options: dict[str, Any]) -> str:
    body = {**options, "invite": [member.user_id for member in members]}
    answer = server.client_api("POST", "/createRoom", creator.access_token, json=body)
    assert answer.status_code == 200, answer.text
    room_id = str(answer.json()["room_id"])
    for member in members:
        assert server.client_api("POST", f"/join/{room_id}", member.access_token, json={}).status_code == 200
    path = f"/rooms/{room_id}/state/m.room.power_levels"
    levels = server.client_api("GET", path, creator.access_token).json()
    levels.setdefault("users", {})[moderator.user_id] = 50
    levels["state_default"] = 0  # members may set the topic, for the state-event checks
    levels.setdefault("events", {})["m.room.topic"] = 0
    assert server.client_api("PUT", path, creator.access_token, json=levels).status_code == 200
    return room_id


# --- inside the window: everything works as before ------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("room", ROOMS)
def test_edit_inside_the_window_is_accepted(scene: Scene, room: str, kind: str) -> None:
    original = scene.post(scene.alice, room, KINDS[kind])
    assert_accepted(scene.send(scene.alice, room, edit_content(KINDS[kind], original)))


def test_recipient_decrypts_an_edit_made_inside_the_window(scene: Scene) -> None:
    original = scene.post(scene.alice, "encrypted", KINDS["text"])
    edit = scene.post(scene.alice, "encrypted", edit_content(KINDS["text"], original, "Mesyuarat jam 4 petang"))
    bob = scene.nio[scene.bob.user_id]
    seen: dict[str, dict[str, Any]] = {}

    async def sync_until_edit_is_decrypted() -> None:
        deadline = time.monotonic() + 30
        while edit not in seen and time.monotonic() < deadline:
            answer = await bob.sync(timeout=1000)
            room = answer.rooms.join.get(scene.rooms["encrypted"])  # type: ignore[union-attr]
            for event in room.timeline.events if room else []:
                if getattr(event, "decrypted", False):
                    seen[event.event_id] = event.source["content"]

    scene.loop.run_until_complete(sync_until_edit_is_decrypted())
    assert seen[edit]["m.new_content"]["body"] == "Mesyuarat jam 4 petang"
    assert seen[edit]["m.relates_to"] == replace(original)


@pytest.mark.parametrize("room", ROOMS)
def test_edit_of_an_edit_inside_the_window_is_accepted(scene: Scene, room: str) -> None:
    original = scene.post(scene.alice, room, KINDS["text"])
    first = scene.post(scene.alice, room, edit_content(KINDS["text"], original, "sekali"))
    assert_accepted(scene.send(scene.alice, room, edit_content(KINDS["text"], original, "dua kali")))
    assert_accepted(scene.send(scene.alice, room, edit_content(KINDS["text"], first, "pada suntingan")))


def wait_for_clock(instant: float) -> None:
    """Wait until the wall clock, the one Synapse stamps origin_server_ts with, reaches `instant`."""
    while (left := instant - time.time()) > 0:
        time.sleep(min(left, 0.1))


@pytest.mark.parametrize("room", ROOMS)
def test_edit_and_redaction_of_a_fresh_edit_are_measured_from_the_original(scene: Scene, room: str) -> None:
    # The original at t0, an edit of it at about t0 + WINDOW/2, then an edit of that edit and its
    # redaction, both sent entirely after t0 + WINDOW but before the first edit's own window ends:
    # measured from the original they are late, measured from the edit they are not. A try whose
    # timing missed that gap (a slow machine) proves nothing and is repeated, never counted as a pass.
    for _ in range(3):
        original = scene.post(scene.alice, room, KINDS["text"])
        t0 = scene.sent_at(room, original)
        wait_for_clock(t0 + WINDOW / 2)
        first_edit = scene.post(scene.alice, room, edit_content(KINDS["text"], original, "segar"))
        t1 = scene.sent_at(room, first_edit)
        payload = scene.payload(scene.alice, room, edit_content(KINDS["text"], first_edit, "lewat"))
        wait_for_clock(t0 + WINDOW + 0.05)
        started = time.time()
        edit = scene.raw_send(*payload)
        redaction = scene.redact(scene.alice, scene.rooms[room], first_edit)
        if started > t0 + WINDOW + 0.01 and time.time() < t1 + WINDOW - 0.01:
            assert_refused(edit, LATE_EDIT)
            assert_refused(redaction, LATE_REDACTION)
            return
    pytest.fail("three tries could not act on the edit between the two windows' ends; the machine is too slow")


@pytest.mark.parametrize("room", ROOMS)
def test_redaction_of_own_message_inside_the_window_is_accepted(scene: Scene, room: str) -> None:
    original = scene.post(scene.alice, room, KINDS["text"])
    assert_accepted(scene.redact(scene.alice, scene.rooms[room], original))


@pytest.mark.parametrize("room", ROOMS)
def test_editing_someone_elses_message_is_refused_at_once(scene: Scene, room: str) -> None:
    original = scene.post(scene.alice, room, KINDS["text"])
    assert_refused(scene.send(scene.bob, room, edit_content(KINDS["text"], original)), NOT_YOURS)


@pytest.mark.parametrize("room", ROOMS)
def test_edit_of_an_unknown_event_is_refused(scene: Scene, room: str) -> None:
    unknown = "$" + uuid.uuid4().hex
    assert_refused(scene.send(scene.alice, room, edit_content(KINDS["text"], unknown)), UNKNOWN)


@pytest.mark.parametrize("room", ROOMS)
def test_edit_of_a_message_in_another_room_is_refused(scene: Scene, room: str) -> None:
    elsewhere = scene.post(scene.alice, "other", KINDS["text"])
    assert_refused(scene.send(scene.alice, room, edit_content(KINDS["text"], elsewhere)), UNKNOWN)


@pytest.mark.parametrize("relation", [{"rel_type": "m.replace"}, {"rel_type": "m.replace", "event_id": 42}])
def test_edit_without_a_usable_target_is_refused(scene: Scene, relation: dict[str, Any]) -> None:
    content = {**KINDS["text"], "m.new_content": KINDS["text"], "m.relates_to": relation}
    assert_refused(scene.raw_send(scene.alice.access_token, scene.rooms["plain"], "m.room.message", content), UNKNOWN)


def test_redaction_of_an_unknown_event_is_refused(scene: Scene) -> None:
    assert scene.redact(scene.alice, scene.rooms["plain"], "$" + uuid.uuid4().hex).status_code == 403


# --- after the window -------------------------------------------------------------------


# A Megolm payload no one can decrypt: the server sees only the clear-text fields.
OPAQUE_MEGOLM = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
    "sender_key": "mCwtiRkNCivSDeg5LM8SGQ9ZjuHDbQ7fVIqwQhzZ7Uo",
    "session_id": "opaque-session",
    "device_id": "OPAQUEDEVICE",
}


@dataclass
class Late:
    messages: dict[tuple[str, str], str]  # (room, name) -> an event sent more than WINDOW seconds ago


@pytest.fixture(scope="module")
def late(scene: Scene) -> Late:
    """Send everything the late checks need, then wait out the window once."""
    alice, carol, admin = scene.alice, scene.carol, scene.admin
    messages: dict[tuple[str, str], str] = {}
    for room in ROOMS:
        for kind, content in KINDS.items():
            messages[(room, kind)] = scene.post(alice, room, content)
        for name in ("redact", "redact-by-send", "redact-edit", "moderated", "replied", "reacted"):
            messages[(room, name)] = scene.post(alice, room, KINDS["text"])
        messages[(room, "carol-own")] = assert_accepted(scene.send(carol, room, KINDS["text"]))
        reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": messages[(room, "reacted")], "key": "👍"}}
        messages[(room, "reaction")] = assert_accepted(scene.raw_send(alice.access_token, scene.rooms[room], "m.reaction", reaction))
        # As Element X sends reactions in encrypted rooms: encrypted, the annotation in clear text.
        encrypted_reaction = {**OPAQUE_MEGOLM, "m.relates_to": {"rel_type": "m.annotation", "event_id": messages[(room, "reacted")], "key": "👏"}}
        messages[(room, "encrypted-reaction")] = assert_accepted(
            scene.raw_send(alice.access_token, scene.rooms[room], "m.room.encrypted", encrypted_reaction)
        )
        messages[(room, "redact-edit-target")] = scene.post(alice, room, edit_content(KINDS["text"], messages[(room, "redact-edit")]))
    for name in ("redact", "redact-by-send"):
        messages[("v10", name)] = assert_accepted(scene.send(alice, "v10", KINDS["text"]))
    topic = scene.server.client_api("PUT", f"/rooms/{scene.rooms['plain']}/state/m.room.topic", alice.access_token, json={"topic": "Lama"})
    messages[("plain", "topic")] = assert_accepted(topic)
    messages[("admin", "alice")] = assert_accepted(scene.send(alice, "admin", KINDS["text"]))
    messages[("admin", "admin-own")] = assert_accepted(scene.send(admin, "admin", KINDS["text"]))
    # Every message above was stamped before now: from WINDOW + 1 s on, all are outside the window.
    wait_for_clock(time.time() + WINDOW + 1)
    return Late(messages)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("room", ROOMS)
def test_edit_after_window_is_rejected(scene: Scene, late: Late, room: str, kind: str) -> None:
    original = late.messages[(room, kind)]
    assert_refused(scene.send(scene.alice, room, edit_content(KINDS[kind], original)), LATE_EDIT)


@pytest.mark.parametrize("room", ROOMS)
def test_late_edit_with_another_event_type_is_rejected(scene: Scene, late: Late, room: str) -> None:
    content = edit_content(KINDS["text"], late.messages[(room, "text")])
    for type in ("m.sticker", "com.example.note", "m.room.message"):  # m.room.message is in clear text here
        assert_refused(scene.raw_send(scene.alice.access_token, scene.rooms[room], type, content), LATE_EDIT)


def test_late_edit_disguised_as_a_state_event_is_rejected(scene: Scene, late: Late) -> None:
    content = edit_content(KINDS["text"], late.messages[("plain", "text")])
    path = f"/rooms/{scene.rooms['plain']}/state/com.example.note/"
    assert_refused(scene.server.client_api("PUT", path, scene.alice.access_token, json=content), LATE_EDIT)


@pytest.mark.parametrize("room", ROOMS)
def test_editing_someone_elses_old_message_is_refused(scene: Scene, late: Late, room: str) -> None:
    answer = scene.send(scene.bob, room, edit_content(KINDS["text"], late.messages[(room, "text")]))
    assert_refused(answer, NOT_YOURS)


@pytest.mark.parametrize("room", ROOMS)
def test_redaction_of_own_message_after_window_is_rejected(scene: Scene, late: Late, room: str) -> None:
    target = late.messages[(room, "redact")]
    assert_refused(scene.redact(scene.alice, scene.rooms[room], target), LATE_REDACTION)
    assert not scene.is_redacted(scene.rooms[room], target)


@pytest.mark.parametrize("room", ROOMS)
def test_redaction_of_an_edit_after_window_is_rejected(scene: Scene, late: Late, room: str) -> None:
    assert_refused(scene.redact(scene.alice, scene.rooms[room], late.messages[(room, "redact-edit-target")]), LATE_REDACTION)


@pytest.mark.parametrize("room", ROOMS)
def test_late_redaction_sent_as_a_raw_event_is_rejected(scene: Scene, late: Late, room: str) -> None:
    """PUT /send/m.room.redaction with `redacts` in content, where room version 11+ (here 12) reads it."""
    target = late.messages[(room, "redact-by-send")]
    answer = scene.raw_send(scene.alice.access_token, scene.rooms[room], "m.room.redaction", {"redacts": target})
    assert_refused(answer, LATE_REDACTION)
    assert not scene.is_redacted(scene.rooms[room], target)


def test_redacts_in_content_redacts_nothing_in_a_version_10_room(scene: Scene, late: Late) -> None:
    # Stock Synapse 1.163 already fails this request (500, before any module runs).
    target = late.messages[("v10", "redact-by-send")]
    answer = scene.raw_send(scene.alice.access_token, scene.rooms["v10"], "m.room.redaction", {"redacts": target})
    assert answer.status_code != 200
    assert not scene.is_redacted(scene.rooms["v10"], target)


def test_late_redaction_with_top_level_redacts_is_rejected(scene: Scene, late: Late) -> None:
    """Room version 10 puts `redacts` at the top level of the event."""
    target = late.messages[("v10", "redact")]
    assert_refused(scene.redact(scene.alice, scene.rooms["v10"], target), LATE_REDACTION)
    assert not scene.is_redacted(scene.rooms["v10"], target)


@pytest.mark.parametrize("room", ROOMS)
def test_moderator_may_redact_others_messages_after_window(scene: Scene, late: Late, room: str) -> None:
    target = late.messages[(room, "moderated")]
    assert_accepted(scene.redact(scene.carol, scene.rooms[room], target))
    assert scene.is_redacted(scene.rooms[room], target)


@pytest.mark.parametrize("room", ROOMS)
def test_moderator_may_not_late_redact_own_message(scene: Scene, late: Late, room: str) -> None:
    assert_refused(scene.redact(scene.carol, scene.rooms[room], late.messages[(room, "carol-own")]), LATE_REDACTION)


@pytest.mark.parametrize("room", ROOMS)
def test_reacting_and_removing_own_reaction_stay_allowed(scene: Scene, late: Late, room: str) -> None:
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": late.messages[(room, "text")], "key": "✅"}}
    assert_accepted(scene.raw_send(scene.alice.access_token, scene.rooms[room], "m.reaction", reaction))
    assert_accepted(scene.redact(scene.alice, scene.rooms[room], late.messages[(room, "reaction")]))


@pytest.mark.parametrize("room", ROOMS)
def test_an_encrypted_annotation_keeps_the_window_since_it_may_carry_a_message(scene: Scene, late: Late, room: str) -> None:
    """The server cannot see its decrypted type; Element would show a decrypted message as a message."""
    assert_refused(scene.redact(scene.alice, scene.rooms[room], late.messages[(room, "encrypted-reaction")]), LATE_REDACTION)


@pytest.mark.parametrize("room", ROOMS)
def test_thread_and_reply_to_an_old_message_are_allowed(scene: Scene, late: Late, room: str) -> None:
    old = late.messages[(room, "replied")]
    reply = {**KINDS["text"], "m.relates_to": {"m.in_reply_to": {"event_id": old}}}
    thread = {**KINDS["text"], "m.relates_to": {"rel_type": "m.thread", "event_id": old, "is_falling_back": True}}
    # A new message that carries m.new_content but no m.replace relation is shown as a new message.
    sneaky = {**KINDS["text"], "m.new_content": {"msgtype": "m.text", "body": "bukan suntingan"}}
    for content in (reply, thread, sneaky):
        assert_accepted(scene.send(scene.bob, room, content))


def test_state_events_are_not_subject_to_the_window(scene: Scene, late: Late) -> None:
    room_id = scene.rooms["plain"]
    answer = scene.server.client_api("PUT", f"/rooms/{room_id}/state/m.room.topic", scene.alice.access_token, json={"topic": "Baharu"})
    assert_accepted(answer)
    assert_accepted(scene.redact(scene.alice, room_id, late.messages[("plain", "topic")]))


def test_server_admin_may_redact_a_users_messages_through_the_admin_api(scene: Scene, late: Late) -> None:
    target = late.messages[("admin", "alice")]
    result = admin_redact(scene, scene.alice, scene.rooms["admin"])
    assert result["failed_redactions"] == {}
    assert scene.is_redacted(scene.rooms["admin"], target)


def test_admin_api_is_no_way_around_the_window_for_an_administrators_own_messages(scene: Scene, late: Late) -> None:
    target = late.messages[("admin", "admin-own")]
    result = admin_redact(scene, scene.admin, scene.rooms["admin"])
    assert result["failed_redactions"].get(target, "").endswith(LATE_REDACTION.split(" / ")[1])
    assert not scene.is_redacted(scene.rooms["admin"], target)


def test_users_cannot_use_the_admin_redaction_api(scene: Scene, late: Late) -> None:
    path = f"/_synapse/admin/v1/user/{scene.alice.user_id}/redact"
    answer = scene.server.request("POST", path, scene.alice.access_token, json={"rooms": [scene.rooms["plain"]]})
    assert answer.status_code == 403


def admin_redact(scene: Scene, user: User, room_id: str) -> dict[str, Any]:
    path = f"/_synapse/admin/v1/user/{user.user_id}/redact"
    answer = scene.server.request("POST", path, scene.admin.access_token, json={"rooms": [room_id]})
    assert answer.status_code == 200, answer.text
    status_path = f"/_synapse/admin/v1/user/redact_status/{answer.json()['redact_id']}"
    # Synapse's task scheduler runs the job on the background-tasks process; on the worker layout
    # it may only pick it up at its next one-minute poll.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = scene.server.request("GET", status_path, scene.admin.access_token).json()
        if status["status"] in ("complete", "failed"):
            assert status["status"] == "complete", status
            return dict(status)
        time.sleep(0.2)
    raise AssertionError("admin redaction did not finish")
