"""A hostile client speaking raw HTTP against the server-enforced rules (R1, R4.3, R5, R6, R1.3-R1.6).

Each test names the rule it proves, asserts the refusal and that nothing changed.
The shared `govchat` server (edit window 300 s) serves the channel, registration,
GCMeet and applications cases; one extra server with a 2-second edit window
serves the late edit and deletion cases, in room versions 11 and 12.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import requests

from jitsi_jwt.rules import conference_name
from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE
from synapse_modules.edit_window.rule import Refusal
from tests.harness import GovChatServer, User
from tests.integration.applications_helpers import API, act, fetch, make_head, official_user, submitted

pytestmark = pytest.mark.integration

CHANNELS_API = "/_synapse/client/govchat/v1/channels"
GCMEET = "/_synapse/client/govchat/v1/gcmeet"
PAGES = "/_synapse/client/govchat/applications"
TEXT = {"msgtype": "m.text", "body": "Pekeliling 1/2026"}


def send(server: GovChatServer, user: User, room_id: str, event_type: str, content: Any) -> requests.Response:
    return server.client_api("PUT", f"/rooms/{quote(room_id)}/send/{event_type}/{uuid.uuid4().hex}", user.access_token, json=content)


def put_state(server: GovChatServer, user: User, room_id: str, event_type: str, content: Any, key: str = "") -> requests.Response:
    return server.client_api("PUT", f"/rooms/{quote(room_id)}/state/{event_type}/{quote(key)}", user.access_token, json=content)


def redact(server: GovChatServer, user: User, room_id: str, event_id: str, body: dict[str, Any] | None = None) -> requests.Response:
    path = f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/{uuid.uuid4().hex}"
    return server.client_api("PUT", path, user.access_token, json=body or {})


def assert_forbidden(answer: requests.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["errcode"] == "M_FORBIDDEN"


def joined(server: GovChatServer, user: User) -> list[str]:
    """The user's rooms, sorted: the server lists them in no particular order."""
    return sorted(server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"])


def room_state(server: GovChatServer, user: User, room_id: str) -> dict[tuple[str, str], str]:
    """(type, state key) -> event ID of the room's current state."""
    events = server.client_api("GET", f"/rooms/{quote(room_id)}/state", user.access_token).json()
    return {(event["type"], event["state_key"]): event["event_id"] for event in events}


def timeline_from(server: GovChatServer, viewer: User, room_id: str, sender: str) -> list[str]:
    page = server.client_api("GET", f"/rooms/{quote(room_id)}/messages?dir=b&limit=200", viewer.access_token).json()
    return [event["event_id"] for event in page["chunk"] if event["sender"] == sender]


def is_redacted(server: GovChatServer, viewer: User, room_id: str, event_id: str) -> bool:
    event = server.client_api("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}", viewer.access_token).json()
    return "redacted_because" in event.get("unsigned", {})


# --- public channels (R5) ---------------------------------------------------------------


@dataclass
class Channel:
    room_id: str
    alias: str
    owner: User
    member: User


@pytest.fixture(scope="module")
def channel(govchat: GovChatServer, admin: User) -> Channel:
    owner, member = govchat.register_plain_user(), govchat.register_plain_user()
    body = {"name": "Saluran Ujian", "alias": f"sapu-{uuid.uuid4().hex[:8]}", "topic": "Ujian", "owners": [owner.user_id]}
    created = govchat.request("POST", CHANNELS_API, admin.access_token, json=body)
    assert created.status_code == 200, created.text
    room_id = created.json()["room_id"]
    assert govchat.client_api("POST", f"/join/{quote(room_id)}", member.access_token, json={}).status_code == 200
    assert send(govchat, owner, room_id, "m.room.message", TEXT).status_code == 200
    return Channel(room_id, created.json()["alias"], owner, member)


ENCRYPTED = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEp", "sender_key": "k", "device_id": "D", "session_id": "s"}


def test_member_cannot_send_encrypted_custom_or_state_typed_events_into_channel(govchat: GovChatServer, channel: Channel) -> None:
    room, member = channel.room_id, channel.member
    state = room_state(govchat, member, room)
    before = timeline_from(govchat, channel.owner, room, member.user_id)
    attempts = [
        send(govchat, member, room, "m.room.encrypted", ENCRYPTED),
        send(govchat, member, room, "com.example.announcement", {"body": "rasmi"}),
        # State event types sent as timeline events, and a reaction to the channel's own marker.
        send(govchat, member, room, "m.room.power_levels", {"users": {member.user_id: 100}}),
        send(govchat, member, room, CHANNEL_MARKER_EVENT_TYPE, {"owners": [member.user_id]}),
        send(govchat, member, room, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": state[("m.room.create", "")], "key": "👍"}}),
        # Redacting their own join (strips the membership event) is a redaction like any other.
        redact(govchat, member, room, state[("m.room.member", member.user_id)]),
        send(govchat, member, room, "m.room.redaction", {"redacts": state[("m.room.member", member.user_id)]}),
    ]
    for answer in attempts:
        assert_forbidden(answer)
    assert timeline_from(govchat, channel.owner, room, member.user_id) == before
    assert room_state(govchat, member, room) == state


@pytest.mark.parametrize(("event_type", "key"), [("m.room.name", "x"), ("m.room.topic", "@owner"), ("com.example.settings", ""), ("m.room.redaction", "")])
def test_owner_sets_only_the_presentation_state_with_an_empty_state_key(govchat: GovChatServer, channel: Channel, event_type: str, key: str) -> None:
    key = channel.owner.user_id if key == "@owner" else key
    content = {"name": "Palsu", "topic": "Palsu", "redacts": "$x"}
    assert_forbidden(put_state(govchat, channel.owner, channel.room_id, event_type, content, key))
    missing = govchat.client_api("GET", f"/rooms/{quote(channel.room_id)}/state/{event_type}/{quote(key)}", channel.owner.access_token)
    assert missing.status_code == 404


def test_owner_cannot_redact_the_channels_current_state(govchat: GovChatServer, channel: Channel) -> None:
    room, owner = channel.room_id, channel.owner
    state = room_state(govchat, owner, room)
    for key in ((CHANNEL_MARKER_EVENT_TYPE, ""), ("m.room.power_levels", ""), ("m.room.create", ""), ("m.room.join_rules", ""), ("m.room.member", owner.user_id)):
        target = state[key]
        assert_forbidden(redact(govchat, owner, room, target))
        assert_forbidden(send(govchat, owner, room, "m.room.redaction", {"redacts": target}))
        assert_forbidden(put_state(govchat, owner, room, "m.room.redaction", {"redacts": target}))
    assert room_state(govchat, owner, room) == state


def test_member_cannot_knock_ban_themselves_or_touch_others_membership_in_channel(govchat: GovChatServer, channel: Channel) -> None:
    room, member, owner = channel.room_id, channel.member, channel.owner
    state = room_state(govchat, member, room)
    attempts = [
        put_state(govchat, member, room, "m.room.member", {"membership": "knock"}, member.user_id),
        put_state(govchat, member, room, "m.room.member", {"membership": "invite"}, member.user_id),
        govchat.client_api("POST", f"/rooms/{quote(room)}/ban", member.access_token, json={"user_id": member.user_id}),
        govchat.client_api("POST", f"/rooms/{quote(room)}/kick", member.access_token, json={"user_id": owner.user_id}),
        put_state(govchat, member, room, "m.room.member", {"membership": "join"}, owner.user_id),
        put_state(govchat, member, room, "m.room.member", {"membership": "leave"}, owner.user_id),
    ]
    for answer in attempts:
        assert answer.status_code == 403, answer.text
    assert room_state(govchat, member, room) == state


def test_neither_owner_nor_member_can_upgrade_or_tombstone_a_channel(govchat: GovChatServer, channel: Channel) -> None:
    room = channel.room_id
    state = room_state(govchat, channel.owner, room)
    rooms_before = {user.user_id: joined(govchat, user) for user in (channel.owner, channel.member)}
    for user in (channel.owner, channel.member):
        assert_forbidden(govchat.client_api("POST", f"/rooms/{quote(room)}/upgrade", user.access_token, json={"new_version": "12"}))
        tombstone = {"body": "Berpindah", "replacement_room": f"!palsu:{govchat.server_name}"}
        assert_forbidden(put_state(govchat, user, room, "m.room.tombstone", tombstone))
    assert room_state(govchat, channel.owner, room) == state
    assert {user.user_id: joined(govchat, user) for user in (channel.owner, channel.member)} == rooms_before


def test_neither_owner_nor_member_can_unpublish_or_take_the_channels_alias(govchat: GovChatServer, channel: Channel) -> None:
    room = channel.room_id
    for user in (channel.owner, channel.member):
        assert_forbidden(govchat.client_api("PUT", f"/directory/list/room/{quote(room)}", user.access_token, json={"visibility": "private"}))
        assert_forbidden(govchat.client_api("DELETE", f"/directory/room/{quote(channel.alias)}", user.access_token))
        # The application-service list is for application services only.
        path = f"/directory/list/appservice/govchat/{quote(room)}"
        assert govchat.client_api("PUT", path, user.access_token, json={"visibility": "public"}).status_code == 403
    assert govchat.client_api("GET", f"/directory/list/room/{quote(room)}").json() == {"visibility": "public"}
    assert govchat.client_api("GET", f"/directory/room/{quote(channel.alias)}").json()["room_id"] == room


def test_ordinary_user_cannot_publish_a_private_room_through_any_directory_endpoint(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    room = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    assert_forbidden(govchat.client_api("PUT", f"/directory/list/room/{quote(room)}", user.access_token, json={"visibility": "public"}))
    path = f"/directory/list/appservice/govchat/{quote(room)}"
    assert govchat.client_api("PUT", path, user.access_token, json={"visibility": "public"}).status_code == 403
    assert govchat.client_api("GET", f"/directory/list/room/{quote(room)}").json() == {"visibility": "private"}
    # Old room versions follow the same rule on their join rules.
    for version in ("10", "11"):
        other = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat", "room_version": version})
        assert other.status_code == 200, other.text
        assert_forbidden(put_state(govchat, user, other.json()["room_id"], "m.room.join_rules", {"join_rule": "public"}))


def test_info_cannot_be_left_by_self_kick_self_ban_or_a_raw_member_event(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    info = None
    deadline = time.monotonic() + 20
    while info is None and time.monotonic() < deadline:
        found = govchat.client_api("GET", f"/directory/room/{quote('#info:' + govchat.server_name)}").json().get("room_id")
        info = found if found in joined(govchat, user) else None
        time.sleep(0.1)
    assert info is not None
    attempts = [
        govchat.client_api("POST", f"/rooms/{quote(info)}/kick", user.access_token, json={"user_id": user.user_id}),
        govchat.client_api("POST", f"/rooms/{quote(info)}/ban", user.access_token, json={"user_id": user.user_id}),
        put_state(govchat, user, info, "m.room.member", {"membership": "leave"}, user.user_id),
        put_state(govchat, user, info, "m.room.member", {"membership": "knock"}, user.user_id),
    ]
    for answer in attempts:
        assert_forbidden(answer)
    assert info in joined(govchat, user)
    assert govchat.client_api("POST", f"/rooms/{quote(info)}/forget", user.access_token, json={}).status_code != 200


# --- registration (R1.1, R1.2) ------------------------------------------------------------


def username_available(server: GovChatServer, localpart: str) -> bool:
    return server.client_api("GET", f"/register/available?username={localpart}").status_code == 200


def test_guest_registration_is_refused(govchat: GovChatServer) -> None:
    answer = govchat.client_api("POST", "/register?kind=guest", json={})
    assert answer.status_code == 403, answer.text
    assert "access_token" not in answer.json()


@pytest.mark.parametrize(
    "auth",
    [
        {"type": "m.login.dummy"},
        {"type": "m.login.registration_token", "token": "abc"},
        {"type": "m.login.email.identity", "threepid_creds": {"sid": "palsu", "client_secret": "palsu"}},
    ],
)
def test_registration_without_a_verified_official_email_creates_nothing(govchat: GovChatServer, auth: dict[str, Any]) -> None:
    localpart = f"tiada-{uuid.uuid4().hex[:8]}"
    body = {"username": localpart, "password": "Kerajaan-2026!x", "inhibit_login": True}
    first = govchat.client_api("POST", "/register", json=body)
    assert first.status_code == 401, first.text
    answer = govchat.client_api("POST", "/register", json={**body, "auth": {**auth, "session": first.json()["session"]}})
    assert answer.status_code in (400, 401, 403), answer.text
    assert "user_id" not in answer.json()
    assert username_available(govchat, localpart)


def test_phone_numbers_can_neither_register_nor_be_added(govchat: GovChatServer) -> None:
    body = {"client_secret": uuid.uuid4().hex, "country": "MY", "phone_number": "0123456789", "send_attempt": 1}
    register = govchat.client_api("POST", "/register/msisdn/requestToken", json=body)
    assert register.status_code == 403 and register.json()["errcode"] == "M_THREEPID_DENIED"
    user = govchat.register_plain_user()
    add = govchat.client_api("POST", "/account/3pid/msisdn/requestToken", user.access_token, json=body)
    assert add.status_code == 400, add.text
    assert govchat.client_api("GET", "/account/3pid", user.access_token).json()["threepids"] == []


# --- GCMeet (R6) ------------------------------------------------------------------------------


def test_gcmeet_room_id_is_matched_exactly_not_case_folded_or_decoded(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    room = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    assert govchat.request("POST", f"{GCMEET}/token", user.access_token, json={"room_id": room}).status_code == 200
    for variant in (room.lower(), room.upper(), room.swapcase(), room + ":" + govchat.server_name):
        if variant != room:
            assert_forbidden(govchat.request("POST", f"{GCMEET}/token", user.access_token, json={"room_id": variant}))
    for malformed in (quote(room, safe=""), room + "\n", " " + room, "\uff01" + room[1:], [room]):
        assert govchat.request("POST", f"{GCMEET}/token", user.access_token, json={"room_id": malformed}).status_code == 400
    openid = govchat.client_api("POST", f"/user/{quote(user.user_id)}/openid/request_token", user.access_token, json={}).json()
    verdict = govchat.request("POST", f"{GCMEET}/verify/user_in_room", json={"token": openid["access_token"], "room_id": room.swapcase()})
    assert verdict.json()["results"] == {"user": True, "room_membership": False}


def test_gcmeet_token_names_only_the_room_whose_membership_was_checked(govchat: GovChatServer) -> None:
    member, stranger = govchat.register_plain_user(), govchat.register_plain_user()
    mine = govchat.client_api("POST", "/createRoom", member.access_token, json={"preset": "private_chat"}).json()["room_id"]
    theirs = govchat.client_api("POST", "/createRoom", stranger.access_token, json={"preset": "private_chat"}).json()["room_id"]
    headers = {"Content-Type": "application/json"}
    # A duplicated key: whichever value the server reads is the one it checks and names.
    for first, last in ((theirs, mine), (mine, theirs)):
        raw = f'{{"room_id": "{first}", "room_id": "{last}"}}'.encode()
        answer = govchat.request("POST", f"{GCMEET}/token", member.access_token, data=raw, headers=headers)
        if answer.status_code == 200:
            claims = jwt.decode(answer.json()["jwt"], options={"verify_signature": False})
            assert claims["room"] == conference_name(mine) != conference_name(theirs)
        else:
            assert_forbidden(answer)
    assert conference_name(mine.swapcase()) != conference_name(mine)


# --- applications (R1.3, R1.5, R1.6, R5.5) ---------------------------------------------------


@dataclass
class Applications:
    admin: User
    head: User
    applicant: User
    outsiders: list[User]
    application_id: str


@pytest.fixture(scope="module")
def applications(govchat: GovChatServer, admin: User) -> Applications:
    head = make_head(govchat, admin)
    applicant = official_user(govchat)
    # A stranger of the same agency, a head of another agency and a head of the parent domain.
    outsiders = [official_user(govchat), make_head(govchat, admin, "jpa.gov.my"), make_head(govchat, admin, "gov.my")]
    details = {"channel_name": "Saluran Sulit", "owner_name": "Siti", "owner_email": applicant.email}
    return Applications(admin, head, applicant, outsiders, submitted(govchat, applicant, "public_channel", details))


def unchanged(govchat: GovChatServer, applications: Applications) -> dict[str, Any]:
    answer = fetch(govchat, applications.applicant, applications.application_id)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_outsiders_cannot_act_on_an_application_by_its_id(govchat: GovChatServer, applications: Applications) -> None:
    before = unchanged(govchat, applications)
    for outsider in applications.outsiders:
        for action in ("endorse", "approve", "reject", "carry_out"):
            answer = act(govchat, outsider, applications.application_id, action, "bukan urusan saya")
            assert answer.status_code == 404 and answer.json()["errcode"] == "M_NOT_FOUND", answer.text
    answer = act(govchat, applications.applicant, applications.application_id, "endorse")
    assert_forbidden(answer)
    assert_forbidden(act(govchat, applications.head, applications.application_id, "approve"))
    assert unchanged(govchat, applications) == before
    # Path tricks do not reach the administrators' heads list either.
    for path in ("/heads/", "/%68eads", "/%2e%2e/heads"):
        assert govchat.request("GET", API + path, applications.applicant.access_token).status_code in (403, 404)


def web_session(govchat: GovChatServer, user: User) -> tuple[requests.Session, str]:
    session = requests.Session()
    assert session.post(govchat.base_url + PAGES + "/session", json={"access_token": user.access_token}, timeout=30).status_code == 200
    page = session.get(govchat.base_url + PAGES, timeout=30).text
    marker = 'name="csrf" value="'
    assert marker in page
    start = page.index(marker) + len(marker)
    return session, page[start : page.index('"', start)]


def test_web_pages_hide_other_peoples_applications_and_refuse_their_actions(govchat: GovChatServer, applications: Applications) -> None:
    before = unchanged(govchat, applications)
    page = f"{govchat.base_url}{PAGES}/{quote(applications.application_id)}"
    for outsider in applications.outsiders:
        session, csrf = web_session(govchat, outsider)
        shown = session.get(page, timeout=30)
        assert shown.status_code == 404 and "Saluran Sulit" not in shown.text
        for action in ("endorse", "reject", "approve"):
            posted = session.post(page, data={"csrf": csrf, "action": action, "note": "x"}, allow_redirects=False, timeout=30)
            assert posted.status_code == 404 and "Saluran Sulit" not in posted.text
    assert unchanged(govchat, applications) == before


def test_csrf_token_of_one_user_does_not_work_for_another(govchat: GovChatServer, applications: Applications) -> None:
    before = unchanged(govchat, applications)
    page = f"{govchat.base_url}{PAGES}/{quote(applications.application_id)}"
    head_session, head_csrf = web_session(govchat, applications.head)
    other_session, other_csrf = web_session(govchat, applications.outsiders[0])
    assert head_csrf != other_csrf
    for session, csrf in ((head_session, other_csrf), (other_session, head_csrf), (head_session, "")):
        posted = session.post(page, data={"csrf": csrf, "action": "endorse", "note": "x"}, allow_redirects=False, timeout=30)
        assert posted.status_code == 403
    assert unchanged(govchat, applications) == before


# --- the edit window after it has passed (R4.3), on a server with a 2-second window ----------------

WINDOW = 2
LATE_EDIT = Refusal.LATE_EDIT.sentence(WINDOW)
LATE_REDACTION = Refusal.LATE_REDACTION.sentence(WINDOW)


@dataclass
class Late:
    server: GovChatServer
    alice: User
    bob: User
    rooms: dict[str, str]  # "v11" (a public room), "v12" (alice's own private room)
    old: dict[tuple[str, str], str]  # (room, purpose) -> alice's message, older than the window


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Late]:
    settings = {"messages": {"edit_window_seconds": WINDOW}, "bot": {"enabled": False}}
    with GovChatServer(data_dir=tmp_path_factory.mktemp("hostile-late"), settings=settings).running() as server:
        admin, alice, bob = server.register_admin(), server.register_plain_user(), server.register_plain_user()
        v11 = server.client_api("POST", "/createRoom", admin.access_token, json={"preset": "public_chat", "room_version": "11"})
        v12 = server.client_api("POST", "/createRoom", alice.access_token, json={"preset": "private_chat", "invite": [bob.user_id]})
        rooms = {"v11": v11.json()["room_id"], "v12": v12.json()["room_id"]}
        for room in rooms.values():
            for user in (alice, bob):
                assert server.client_api("POST", f"/join/{quote(room)}", user.access_token, json={}).status_code == 200
        purposes = ("redact", "send", "state", "state-keyed", "smuggled", "edit", "relation", "others")
        old = {(name, purpose): send(server, alice, room, "m.room.message", TEXT).json()["event_id"] for name, room in rooms.items() for purpose in purposes}
        time.sleep(WINDOW + 1)
        yield Late(server, alice, bob, rooms, old)


ROOMS = ["v11", "v12"]


def assert_refused(answer: requests.Response, sentence: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json() == {"errcode": "M_FORBIDDEN", "error": sentence}


@pytest.mark.parametrize("room", ROOMS)
def test_late_redaction_is_refused_through_redact_and_send_in_room_versions_11_and_12(late: Late, room: str) -> None:
    room_id = late.rooms[room]
    assert_refused(redact(late.server, late.alice, room_id, late.old[(room, "redact")]), LATE_REDACTION)
    assert_refused(send(late.server, late.alice, room_id, "m.room.redaction", {"redacts": late.old[(room, "send")]}), LATE_REDACTION)
    for purpose in ("redact", "send"):
        assert not is_redacted(late.server, late.alice, room_id, late.old[(room, purpose)])


@pytest.mark.parametrize("room", ROOMS)
def test_late_redaction_sent_as_a_state_event_is_refused(late: Late, room: str) -> None:
    room_id = late.rooms[room]
    assert_refused(put_state(late.server, late.alice, room_id, "m.room.redaction", {"redacts": late.old[(room, "state")]}), LATE_REDACTION)
    keyed = put_state(late.server, late.alice, room_id, "m.room.redaction", {"redacts": late.old[(room, "state-keyed")]}, key="x")
    assert_refused(keyed, LATE_REDACTION)
    for purpose in ("state", "state-keyed"):
        assert not is_redacted(late.server, late.alice, room_id, late.old[(room, purpose)])


@pytest.mark.parametrize("room", ROOMS)
def test_redact_endpoint_cannot_smuggle_a_late_target_in_its_body(late: Late, room: str) -> None:
    room_id, target = late.rooms[room], late.old[(room, "smuggled")]
    decoy = send(late.server, late.alice, room_id, "m.room.message", TEXT).json()["event_id"]
    answer = redact(late.server, late.alice, room_id, decoy, {"redacts": target})
    assert answer.status_code in (400, 403), answer.text
    assert not is_redacted(late.server, late.alice, room_id, target)


@pytest.mark.parametrize("room", ROOMS)
def test_late_edit_is_refused_in_room_versions_11_and_12(late: Late, room: str) -> None:
    room_id, original = late.rooms[room], late.old[(room, "edit")]
    edit = {**TEXT, "m.new_content": {**TEXT, "body": "dipinda"}, "m.relates_to": {"rel_type": "m.replace", "event_id": original}}
    assert_refused(send(late.server, late.alice, room_id, "m.room.message", edit), LATE_EDIT)
    assert_refused(send(late.server, late.alice, room_id, "m.room.encrypted", {**ENCRYPTED, "m.relates_to": edit["m.relates_to"]}), LATE_EDIT)


@pytest.mark.parametrize("room", ROOMS)
def test_relations_that_are_no_m_replace_object_edit_nothing(late: Late, room: str) -> None:
    """Odd spellings pass the window check because neither Synapse nor clients treat them as edits."""
    room_id, original = late.rooms[room], late.old[(room, "relation")]
    new_content = {**TEXT, "body": "dipinda"}
    odd_relations: list[Any] = [
        [{"rel_type": "m.replace", "event_id": original}],  # an array instead of an object
        {"rel_type": "M.REPLACE", "event_id": original},  # other case
        {"rel_type": "m.replac\u0435", "event_id": original},  # Cyrillic "е"
        {"rel_type": " m.replace", "event_id": original},
    ]
    for relation in odd_relations:
        assert send(late.server, late.alice, room_id, "m.room.message", {**TEXT, "m.new_content": new_content, "m.relates_to": relation}).status_code == 200
    # The relation hidden inside m.new_content is no edit either.
    nested = {**TEXT, "m.new_content": {**new_content, "m.relates_to": {"rel_type": "m.replace", "event_id": original}}}
    assert send(late.server, late.alice, room_id, "m.room.message", nested).status_code == 200
    edits = late.server.request("GET", f"/_matrix/client/v1/rooms/{quote(room_id)}/relations/{quote(original)}/m.replace", late.alice.access_token)
    assert edits.status_code == 200 and edits.json()["chunk"] == []
    event = late.server.client_api("GET", f"/rooms/{quote(room_id)}/event/{quote(original)}", late.alice.access_token).json()
    assert event["content"] == TEXT and "m.replace" not in event.get("unsigned", {}).get("m.relations", {})


@pytest.mark.parametrize("room", ROOMS)
def test_user_without_redact_power_cannot_redact_someone_elses_old_message(late: Late, room: str) -> None:
    room_id, target = late.rooms[room], late.old[(room, "others")]
    assert_forbidden(redact(late.server, late.bob, room_id, target))
    assert_forbidden(send(late.server, late.bob, room_id, "m.room.redaction", {"redacts": target}))
    assert not is_redacted(late.server, late.alice, room_id, target)
