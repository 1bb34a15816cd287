"""Security review (issue 12): accounts that escape their lifecycle, one mailbox with many accounts,
channel side doors, meeting tokens, erasure, deactivated users, local files, application fields.

Each test drives the shared real Synapse over raw HTTP, as the reviewer did, names the rule it
proves and checks that nothing changed behind the refusal.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.harness import GovChatServer, User, mail_link
from tests.integration.applications_helpers import API, applicant_details, apply, official_user

pytestmark = pytest.mark.integration

PASSWORD = "Kerajaan-2026!"


def assert_refused(answer: requests.Response, status: int, errcode: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["errcode"] == errcode, answer.text
    assert " / " in answer.json()["error"], "the sentence is in Malay and English"


def verified_mailbox(server: GovChatServer, email: str) -> dict[str, str]:
    """threepid_creds of a registration session whose mailed link was followed."""
    client_secret = uuid.uuid4().hex
    body = {"email": email, "client_secret": client_secret, "send_attempt": 1}
    answer = server.client_api("POST", "/register/email/requestToken", json=body)
    assert answer.status_code == 200, answer.text
    link = mail_link(server.wait_for_mail(to=email), "submit_token")
    assert requests.get(link, timeout=30).status_code == 200
    return {"sid": answer.json()["sid"], "client_secret": client_secret}


def register_with(server: GovChatServer, creds: dict[str, str], username: str, together: threading.Barrier | None = None) -> requests.Response:
    """Two steps of POST /register, each in its own user-interactive session; `together` lines up the second steps."""
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    first = server.client_api("POST", "/register", json=body)
    assert first.status_code == 401, first.text
    if together is not None:
        together.wait(timeout=60)
    # As Element does: the session remembers the username and the password's hash.
    auth = {"type": "m.login.email.identity", "threepid_creds": creds, "session": first.json()["session"]}
    return server.client_api("POST", "/register", json={"auth": auth})


def own_emails(server: GovChatServer, user: User) -> list[str]:
    threepids = server.client_api("GET", "/account/3pid", user.access_token).json()["threepids"]
    return [threepid["address"] for threepid in threepids if threepid["medium"] == "email"]


def agency_records(server: GovChatServer, admin: User, email: str) -> list[str]:
    users: list[str] = []
    after = ""
    while True:
        page = server.request("GET", f"/_synapse/client/govchat/v1/users/agencies?limit=1000&from={quote(after)}", admin.access_token).json()
        users += [record["user_id"] for record in page["users"] if record["email"] == email]
        if "next_from" not in page:
            return users
        after = page["next_from"]


# --- 1. the official e-mail stays with the account --------------------------------------------


def test_user_cannot_remove_replace_or_add_an_e_mail_through_any_client_endpoint(govchat: GovChatServer) -> None:
    user = official_user(govchat)
    token = user.access_token
    other = f"lain.{uuid.uuid4().hex[:8]}@mampu.gov.my"
    creds = {"sid": "palsu", "client_secret": "palsu"}
    attempts = [
        govchat.client_api("POST", "/account/3pid/delete", token, json={"medium": "email", "address": user.email}),
        govchat.client_api("POST", "/account/3pid/add", token, json={**creds, "auth": {"type": "m.login.password", "password": PASSWORD}}),
        govchat.client_api("POST", "/account/3pid", token, json={"three_pid_creds": creds, "bind": False}),
        govchat.client_api("POST", "/account/3pid/email/requestToken", token, json={"email": other, "client_secret": "s", "send_attempt": 1}),
    ]
    for answer in attempts:
        assert_refused(answer, 403, "M_FORBIDDEN")
    # Phone numbers are no GovChat identity at all (refused by Synapse: no SMS, is_3pid_allowed).
    phone = {"country": "MY", "phone_number": "0123456789", "client_secret": "s", "send_attempt": 1}
    assert govchat.client_api("POST", "/account/3pid/msisdn/requestToken", token, json=phone).status_code == 400
    # /bind and /unbind speak only to identity servers (none here); the account keeps its e-mail.
    govchat.client_api("POST", "/account/3pid/unbind", token, json={"medium": "email", "address": user.email})
    govchat.client_api("POST", "/account/3pid/bind", token, json={**creds, "id_server": "id.example.com", "id_access_token": "x"})
    assert own_emails(govchat, user) == [user.email]
    capabilities = govchat.client_api("GET", "/capabilities", token).json()["capabilities"]
    assert capabilities["m.3pid_changes"] == {"enabled": False}


def test_lifecycle_finds_the_account_by_its_registered_e_mail_even_once_the_3pid_is_gone(govchat: GovChatServer, admin: User) -> None:
    applicant, target = official_user(govchat), official_user(govchat)
    assert target.email is not None
    # An administrator (or any path that reaches Synapse's 3PID table) removes the binding.
    answer = govchat.request("PUT", f"/_synapse/admin/v2/users/{quote(target.user_id)}", admin.access_token, json={"threepids": []})
    assert answer.status_code == 200, answer.text
    assert own_emails(govchat, target) == []
    # A5 still recognises the account by the e-mail it registered with (GovChat's own record) ...
    details = {"account": target.user_id, "account_email": target.email, "reason": "Bersara", "effective_date": "2030-01-01"}
    cancellation = apply(govchat, applicant, "account_cancellation", details)
    assert cancellation.status_code == 201, cancellation.text
    # ... and the freed mailbox does not register a second, untracked account.
    second = register_with(govchat, verified_mailbox(govchat, target.email), f"kedua{uuid.uuid4().hex[:8]}")
    assert_refused(second, 400, "M_THREEPID_IN_USE")


# --- 2. one mailbox, one account, also under concurrency ---------------------------------------


def test_parallel_registrations_with_one_verified_mailbox_create_one_account(govchat: GovChatServer, admin: User) -> None:
    email = f"serentak.{uuid.uuid4().hex[:8]}@mampu.gov.my"
    creds = verified_mailbox(govchat, email)
    names = [f"serentak{uuid.uuid4().hex[:8]}" for _ in range(6)]
    with ThreadPoolExecutor(len(names)) as pool:
        together = threading.Barrier(len(names))
        answers = list(pool.map(lambda name: register_with(govchat, creds, name, together), names))
    created = [answer for answer in answers if answer.status_code == 200]
    assert len(created) == 1, [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code != 200:
            # Refused by the mailbox claim, or later, once the first registration used up the session.
            assert answer.json()["errcode"] in ("M_THREEPID_IN_USE", "M_UNAUTHORIZED"), answer.text
    winner = created[0].json()["user_id"]
    assert agency_records(govchat, admin, email) == [winner]
    for name in names:
        user_id = f"@{name}:{govchat.server_name}"
        exists = govchat.request("GET", f"/_synapse/admin/v2/users/{quote(user_id)}", admin.access_token).status_code == 200
        assert exists == (user_id == winner)


# --- 4. meetings in channels are for their owners -----------------------------------------------

CHANNELS_API = "/_synapse/client/govchat/v1/channels"
GCMEET = "/_synapse/client/govchat/v1/gcmeet"


def openid_token(server: GovChatServer, user: User) -> dict[str, Any]:
    answer = server.client_api("POST", f"/user/{quote(user.user_id)}/openid/request_token", user.access_token, json={})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def info_room(server: GovChatServer, user: User) -> str:
    """INFO's room ID, once the user has been joined to it (in the background after registration)."""
    room_id = server.client_api("GET", f"/directory/room/{quote('#info:' + server.server_name)}").json()["room_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if room_id in server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"]:
            return str(room_id)
        time.sleep(0.2)
    raise AssertionError(f"{user.user_id} was not joined to INFO")


def test_only_channel_owners_get_meeting_tokens_in_a_channel_or_in_info(govchat: GovChatServer, admin: User) -> None:
    owner, member = govchat.register_plain_user(), govchat.register_plain_user()
    body = {"name": "Taklimat", "alias": f"taklimat-{uuid.uuid4().hex[:8]}", "topic": "", "owners": [owner.user_id]}
    created = govchat.request("POST", CHANNELS_API, admin.access_token, json=body)
    assert created.status_code == 200, created.text
    channel = created.json()["room_id"]
    assert govchat.client_api("POST", f"/join/{quote(channel)}", member.access_token, json={}).status_code == 200
    for room_id in (channel, info_room(govchat, member)):
        assert_refused(govchat.request("POST", f"{GCMEET}/token", member.access_token, json={"room_id": room_id}), 403, "M_FORBIDDEN")
        by_openid = {"room_id": room_id, "openid_token": openid_token(govchat, member)}
        assert_refused(govchat.request("POST", f"{GCMEET}/token", json=by_openid), 403, "M_FORBIDDEN")
        verdict = govchat.request("POST", f"{GCMEET}/verify/user_in_room", json={"token": openid_token(govchat, member)["access_token"], "room_id": room_id})
        assert verdict.json()["results"] == {"user": True, "room_membership": False}
    assert govchat.request("POST", f"{GCMEET}/token", owner.access_token, json={"room_id": channel}).status_code == 200


# --- 5 and 7. erasure follows the edit window; deactivated accounts get nothing --------------------


def deactivate(server: GovChatServer, user: User, erase: bool) -> requests.Response:
    auth = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user.user_id}, "password": user.password}
    return server.client_api("POST", "/account/deactivate", user.access_token, json={"auth": auth, "erase": erase})


def test_user_cannot_erase_their_messages_by_deactivating_with_erase(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    room_id = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    sent = govchat.client_api("PUT", f"/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}", user.access_token, json={"msgtype": "m.text", "body": "Rekod"})
    assert sent.status_code == 200, sent.text
    assert_refused(deactivate(govchat, user, erase=True), 403, "M_FORBIDDEN")
    assert govchat.client_api("GET", "/account/whoami", user.access_token).status_code == 200
    event = govchat.client_api("GET", f"/rooms/{quote(room_id)}/event/{quote(sent.json()['event_id'])}", user.access_token).json()
    assert event["content"]["body"] == "Rekod"


def test_an_openid_token_gets_nothing_once_its_owner_is_deactivated(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    room_id = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    token = openid_token(govchat, user)
    assert govchat.request("POST", f"{GCMEET}/verify/user", json={"token": token["access_token"]}).json()["results"] == {"user": True}
    assert deactivate(govchat, user, erase=False).status_code == 200
    assert govchat.request("POST", f"{GCMEET}/verify/user", json={"token": token["access_token"]}).json() == {"results": {"user": False}, "user_id": None}
    in_room = govchat.request("POST", f"{GCMEET}/verify/user_in_room", json={"token": token["access_token"], "room_id": room_id}).json()
    assert in_room["results"] == {"user": False, "room_membership": False}
    assert govchat.request("POST", f"{GCMEET}/token", json={"room_id": room_id, "openid_token": token}).status_code == 401


# --- 3. a channel member's own membership event carries no text of its own ------------------------


def member_state(server: GovChatServer, viewer: User, room_id: str, user_id: str) -> dict[str, Any]:
    answer = server.client_api("GET", f"/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}", viewer.access_token)
    return dict(answer.json())


def test_channel_member_posts_nothing_through_their_own_membership_event(govchat: GovChatServer, admin: User) -> None:
    owner, member = govchat.register_plain_user(), govchat.register_plain_user()
    body = {"name": "Pengumuman", "alias": f"pengumuman-{uuid.uuid4().hex[:8]}", "topic": "", "owners": [owner.user_id]}
    room_id = govchat.request("POST", CHANNELS_API, admin.access_token, json=body).json()["room_id"]
    post = govchat.client_api("PUT", f"/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}", owner.access_token, json={"msgtype": "m.text", "body": "Rasmi"})
    assert govchat.client_api("POST", f"/join/{quote(room_id)}", member.access_token, json={}).status_code == 200
    before = member_state(govchat, owner, room_id, member.user_id)
    fake = "PENGUMUMAN RASMI: sila log masuk di http://govchat-palsu.example"
    state_path = f"/rooms/{quote(room_id)}/state/m.room.member/{quote(member.user_id)}"
    attempts = [
        govchat.client_api("PUT", state_path, member.access_token, json={**before, "body": fake, "msgtype": "m.text"}),
        govchat.client_api("PUT", state_path, member.access_token, json={**before, "m.relates_to": {"rel_type": "m.thread", "event_id": post.json()["event_id"]}}),
        govchat.client_api("PUT", state_path, member.access_token, json={**before, "reason": fake}),
        govchat.client_api("PUT", state_path, member.access_token, json={**before, "displayname": fake}),
        govchat.client_api("PUT", state_path, member.access_token, json={**before, "avatar_url": "mxc://govchat.localhost/palsu"}),
        govchat.client_api("POST", f"/join/{quote(room_id)}", member.access_token, json={"reason": fake}),
        govchat.client_api("POST", f"/rooms/{quote(room_id)}/leave", member.access_token, json={"reason": fake}),
        govchat.client_api("PUT", state_path, member.access_token, json={"membership": "leave", "displayname": fake}),
    ]
    for answer in attempts:
        assert_refused(answer, 403, "M_FORBIDDEN")
    assert member_state(govchat, owner, room_id, member.user_id) == before
    # Their global name, as set on the account, still reaches the channel; leaving stays possible.
    renamed = govchat.client_api("PUT", f"/profile/{quote(member.user_id)}/displayname", member.access_token, json={"displayname": "Siti Aminah"})
    assert renamed.status_code == 200, renamed.text
    deadline = time.monotonic() + 30  # Synapse updates the rooms in a scheduled task
    while member_state(govchat, owner, room_id, member.user_id).get("displayname") != "Siti Aminah":
        assert time.monotonic() < deadline, "the new global name did not reach the channel"
        time.sleep(0.2)
    assert govchat.client_api("POST", f"/rooms/{quote(room_id)}/leave", member.access_token, json={}).status_code == 200


# --- 9. application fields cannot write into official notices; limits; the applicant's own e-mail ---

FAKE_NOTICE = "Siti\n\nNOTIS KESELAMATAN: akaun anda akan disekat; sahkan di http://govchat-palsu.example"


def channel_application(user: User, **applicant: str) -> dict[str, Any]:
    details = {"channel_name": "Saluran Ujian", "channel_alias": "", "owner_name": "Siti", "owner_email": user.email}
    return {"kind": "public_channel", "applicant": {**applicant_details(user.email or ""), **applicant}, "details": details}


def my_applications(server: GovChatServer, user: User) -> list[Any]:
    return list(server.request("GET", API, user.access_token).json()["applications"])


def test_one_line_application_fields_refuse_line_breaks_and_control_characters(govchat: GovChatServer) -> None:
    user = official_user(govchat, "jpa.gov.my")
    cases = [
        ("applicant.name", channel_application(user, name=FAKE_NOTICE)),
        ("applicant.organisation", channel_application(user, organisation="JPA\rNOTIS KESELAMATAN")),
        ("applicant.position", channel_application(user, position="Pegawai\u2028NOTIS KESELAMATAN")),
        ("applicant.division", channel_application(user, division="Bahagian \u202eNOTIS")),
    ]
    bad_channel = channel_application(user)
    bad_channel["details"]["channel_name"] = "Saluran\nNOTIS KESELAMATAN"
    cases.append(("details.channel_name", bad_channel))
    for field, body in cases:
        answer = govchat.request("POST", API, user.access_token, json=body)
        assert_refused(answer, 400, "M_INVALID_PARAM")
        assert answer.json()["field"] == field
    assert my_applications(govchat, user) == []


def test_applicant_email_is_the_applicants_own(govchat: GovChatServer) -> None:
    user, other = official_user(govchat, "jpa.gov.my"), official_user(govchat, "jpa.gov.my")
    answer = govchat.request("POST", API, user.access_token, json=channel_application(user, email=other.email or ""))
    assert_refused(answer, 400, "M_INVALID_PARAM")
    assert answer.json()["field"] == "applicant.email"
    assert my_applications(govchat, user) == []


def test_submissions_per_officer_are_limited_per_day(govchat: GovChatServer) -> None:
    user = official_user(govchat, "jpa.gov.my")
    body = channel_application(user)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: govchat.request("POST", API, user.access_token, json=body), range(24)))
    assert sorted(answer.status_code for answer in answers) == [201] * 20 + [429] * 4
    assert_refused(next(answer for answer in answers if answer.status_code == 429), 429, "M_LIMIT_EXCEEDED")
    assert len(my_applications(govchat, user)) == 20


# --- 8. the data folder is the service account's only --------------------------------------------

# Written by the test harness itself, as an operator's editor would; the warning below covers them.
HARNESS_FILES = {"govchat.yaml", "launcher.log"}


def test_everything_govchat_writes_in_the_data_folder_is_owner_only(govchat: GovChatServer) -> None:
    # Make sure every kind of file exists: mail with a link, database, media, the bot's store.
    official_user(govchat)
    upload = govchat.request("POST", "/_matrix/media/v3/upload?filename=a.txt", govchat.register_plain_user().access_token, data=b"rekod", headers={"Content-Type": "text/plain"})
    assert upload.status_code == 200, upload.text
    paths = [govchat.data_dir, *govchat.data_dir.rglob("*")]
    kinds = {path.name for path in paths}
    # On the worker layout the database is PostgreSQL's, outside the folder (its own owner-only cluster).
    database = set() if govchat.uses_workers else {"homeserver.db"}
    assert {"secrets.yaml", "signing.key", "homeserver.yaml"} | database <= kinds
    assert any(path.suffix == ".eml" for path in paths) and any("media_store" in path.parts for path in paths)
    loose = [f"{path} {oct(path.stat().st_mode & 0o777)}" for path in paths if path.name not in HARNESS_FILES and not path.is_symlink() and path.stat().st_mode & 0o077]
    assert loose == []


def test_start_up_warns_when_the_data_folder_was_loosened(tmp_path: Any) -> None:
    from tests.conftest import TEST_SETTINGS

    server = GovChatServer(data_dir=tmp_path / "data", settings={**TEST_SETTINGS, "bot": {"enabled": False}})
    server.write_settings()
    (server.data_dir / "govchat.yaml").chmod(0o644)
    server.data_dir.chmod(0o755)
    with server.running():
        log = server.launcher_log()
    warning = next((line for line in log.splitlines() if line.startswith("govchat: WARNING")), "")
    assert "govchat.yaml" in warning and f"chmod -R go-rwx {server.data_dir}" in warning, log
    # Files GovChat wrote itself are owner-only even in a loosened folder.
    for name in ("homeserver.yaml", "secrets.yaml", *(() if server.uses_workers else ("homeserver.db",))):
        assert (server.data_dir / name).stat().st_mode & 0o077 == 0, name


# --- 6. the bot's hint for undecryptable messages follows the addressing rules and limits -------------


def fake_encrypted(server: GovChatServer, user: User, room_id: str) -> str:
    garbage = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
        "sender_key": "mCwtiRkNCivSDeg5LM8SGQ9ZjuHDbQ7fVIqwQhzZ7Uo",
        "session_id": "no-such-session-" + uuid.uuid4().hex,
        "device_id": "NOSUCHDEVICE",
    }
    sent = server.client_api("PUT", f"/rooms/{quote(room_id)}/send/m.room.encrypted/{uuid.uuid4().hex}", user.access_token, json=garbage)
    assert sent.status_code == 200, sent.text
    return str(sent.json()["event_id"])


def bot_messages(server: GovChatServer, viewer: User, room_id: str) -> int:
    """How many (encrypted) messages the bot sent to the room, read over raw HTTP."""
    page = server.client_api("GET", f"/rooms/{quote(room_id)}/messages?dir=b&limit=200", viewer.access_token).json()
    return sum(1 for event in page["chunk"] if event["sender"].startswith("@bot-govchat:") and event["type"] == "m.room.encrypted")


def test_bot_ignores_fake_encrypted_events_in_groups_and_limits_them_in_direct_chats(govchat: GovChatServer, tmp_path: Any) -> None:
    from nio import RoomCreateResponse, RoomPreset

    from tests.integration.test_pkpa_bot import ask, bot_id, has_joined, open_direct_chat, talking_to_bot
    from tests.nio_clients import run, sync_until

    alice, bob = govchat.register_plain_user(), govchat.register_plain_user()

    async def scenario() -> None:
        async with talking_to_bot(govchat, alice, tmp_path / "alice") as (client, notices):
            created = await client.room_create(preset=RoomPreset.private_chat, invite=[bob.user_id, bot_id(govchat)])
            assert isinstance(created, RoomCreateResponse)
            group = created.room_id
            assert govchat.client_api("POST", f"/rooms/{quote(group)}/join", bob.access_token, json={}).status_code == 200
            await sync_until(client, lambda: has_joined(client, group, bot_id(govchat)) and has_joined(client, group, bob.user_id), timeout=60)
            for _ in range(25):
                fake_encrypted(govchat, alice, group)
            # A real command afterwards is answered, and is the bot's only message in the group.
            assert "PKPA 1/2021" in (await ask(client, notices, group, "!cari PKPA 1/2021")).body
            assert bot_messages(govchat, bob, group) == 1

            direct = await open_direct_chat(client, govchat)
            for _ in range(25):
                fake_encrypted(govchat, alice, direct)
            deadline = time.monotonic() + 60
            while bot_messages(govchat, alice, direct) < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            await asyncio.sleep(4)
            # Alice used one question above: the rest of the burst, one polite refusal, and a
            # token a slow run may have refilled; not one hint per fake.
            assert 4 <= bot_messages(govchat, alice, direct) <= 7

    run(scenario())


# --- lower severity: A5 targets only accounts of the applicant's own agency, never administrators ----


def test_cancellation_is_for_accounts_of_the_applicants_agency_and_never_an_administrator(govchat: GovChatServer, admin: User) -> None:
    applicant, elsewhere = official_user(govchat), official_user(govchat, "jpa.gov.my")
    assert elsewhere.email is not None
    # An administrator with an official e-mail of the applicant's own agency.
    boss = official_user(govchat)
    assert boss.email is not None
    made_admin = govchat.request("PUT", f"/_synapse/admin/v2/users/{quote(boss.user_id)}", admin.access_token, json={"admin": True})
    assert made_admin.status_code == 200, made_admin.text
    for target, email in ((elsewhere, elsewhere.email), (boss, boss.email)):
        details = {"account": target.user_id, "account_email": email, "reason": "Diambil alih", "effective_date": "2030-01-01"}
        answer = apply(govchat, applicant, "account_cancellation", details)
        assert_refused(answer, 403, "M_FORBIDDEN")
        assert answer.json()["field"] == "details.account"
    assert my_applications(govchat, applicant) == []


# --- lower severity: rooms that are public in all but name are for administrators ----------------------


def test_ordinary_user_cannot_open_a_room_to_every_info_member_or_to_non_members(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    info = info_room(govchat, user)
    private = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat", "room_version": "10"}).json()["room_id"]
    other = govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    state = f"/rooms/{quote(private)}/state"
    via_info = {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": info}]}
    attempts = [
        govchat.client_api("PUT", f"{state}/m.room.join_rules/", user.access_token, json=via_info),
        govchat.client_api("PUT", f"{state}/m.room.join_rules/", user.access_token, json={**via_info, "join_rule": "knock_restricted"}),
        govchat.client_api("PUT", f"{state}/m.room.history_visibility/", user.access_token, json={"history_visibility": "world_readable"}),
        govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat", "room_version": "10", "initial_state": [{"type": "m.room.join_rules", "state_key": "", "content": via_info}]}),
        govchat.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat", "initial_state": [{"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "world_readable"}}]}),
    ]
    for answer in attempts:
        assert_refused(answer, 403, "M_FORBIDDEN")
    rules_now = govchat.client_api("GET", f"{state}/m.room.join_rules/", user.access_token).json()
    assert rules_now["join_rule"] == "invite"
    # Restricting to the members of one's own private room stays possible.
    own = {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": other}]}
    assert govchat.client_api("PUT", f"{state}/m.room.join_rules/", user.access_token, json=own).status_code == 200
