"""Registration, passwords and agencies against a real GovChat homeserver (R1.1, R1.2, R2.3, R3.1)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from nio import AsyncClient, RoomCreateResponse, RoomMessageText, RoomPreset

from govchat.emails import Refusal
from tests.email_cases import ACCEPTED, REFUSED
from tests.harness import REPO_ROOT, GovChatServer, User, mail_link
from tests.nio_clients import close_all, e2ee_client, run, send_encrypted_text, sync_until

STRONG_PASSWORD = "Kerajaan-2026!"


def unique(localpart: str, domain: str) -> str:
    return f"{localpart}.{uuid.uuid4().hex[:6]}@{domain}"


def has_joined(client: AsyncClient, room_id: str, user_id: str) -> bool:
    room = client.rooms.get(room_id)
    return room is not None and user_id in room.users and user_id not in room.invited_users


def request_registration_token(govchat: GovChatServer, email: object) -> requests.Response:
    body = {"email": email, "client_secret": uuid.uuid4().hex, "send_attempt": 1}
    return govchat.client_api("POST", "/register/email/requestToken", json=body)


def test_official_user_registers_by_mailed_link_and_chats_end_to_end_encrypted(govchat: GovChatServer, tmp_path: Path) -> None:
    alice = govchat.register_with_email(unique("alice", "mampu.gov.my"), STRONG_PASSWORD)
    bob = govchat.register_with_email(unique("bob", "jpa.gov.my"), STRONG_PASSWORD)
    assert govchat.login(alice.user_id, STRONG_PASSWORD).status_code == 200

    async def conversation() -> None:
        alice_client = await e2ee_client(govchat, alice, tmp_path / "alice")
        bob_client = await e2ee_client(govchat, bob, tmp_path / "bob")
        try:
            created = await alice_client.room_create(preset=RoomPreset.private_chat, invite=[bob.user_id], is_direct=True)
            assert isinstance(created, RoomCreateResponse), created
            room_id = created.room_id
            # Encryption is on by default for private conversations: the client asked for nothing.
            state = govchat.client_api("GET", f"/rooms/{room_id}/state/m.room.encryption", alice.access_token)
            assert state.status_code == 200 and state.json()["algorithm"] == "m.megolm.v1.aes-sha2"
            await sync_until(bob_client, lambda: room_id in bob_client.invited_rooms)
            await bob_client.join(room_id)
            await sync_until(alice_client, lambda: has_joined(alice_client, room_id, bob.user_id))
            await send_encrypted_text(alice_client, room_id, "Mesyuarat jam 3 petang")

            received: list[RoomMessageText] = []
            bob_client.add_event_callback(lambda room, event: received.append(event), RoomMessageText)
            await sync_until(bob_client, lambda: any(event.body == "Mesyuarat jam 3 petang" for event in received))
            raw = govchat.client_api("GET", f"/rooms/{room_id}/messages?dir=b&limit=5", bob.access_token).json()
            assert any(event["type"] == "m.room.encrypted" for event in raw["chunk"])
            assert not any(event["type"] == "m.room.message" for event in raw["chunk"])
        finally:
            await close_all(alice_client, bob_client)

    run(conversation())


@pytest.mark.parametrize(("address", "normal", "agency_domain"), ACCEPTED)
def test_official_address_gets_a_verification_mail(govchat: GovChatServer, address: str, normal: str, agency_domain: str) -> None:
    govchat.new_mail()
    answer = request_registration_token(govchat, address)
    assert answer.status_code == 200, answer.text
    message = govchat.wait_for_mail(to=normal)
    assert "submit_token" in mail_link(message, "submit_token")
    assert "Sahkan e-mel anda / Verify your e-mail" in message["Subject"]
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "<img" not in html.get_content()  # nothing loaded from outside


@pytest.mark.parametrize(("why", "address", "refusal"), REFUSED, ids=[why for why, _, _ in REFUSED])
def test_refused_address_gets_bilingual_threepid_denied_and_no_mail(govchat: GovChatServer, why: str, address: object, refusal: Refusal) -> None:
    govchat.new_mail()
    answer = request_registration_token(govchat, address)
    assert answer.status_code == 403, answer.text
    assert answer.json() == {"errcode": "M_THREEPID_DENIED", "error": refusal.message}
    malay, english = answer.json()["error"].split(" / ")
    assert malay and english
    assert govchat.mail_until_marker() == []


def test_adding_a_foreign_address_to_an_account_is_refused(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    body = {"email": "someone@gmail.com", "client_secret": uuid.uuid4().hex, "send_attempt": 1}
    answer = govchat.client_api("POST", "/account/3pid/email/requestToken", user.access_token, json=body)
    assert answer.status_code == 403
    assert answer.json() == {"errcode": "M_THREEPID_DENIED", "error": Refusal.NOT_GOVERNMENT.message}


@pytest.mark.parametrize(
    "weak_password",
    ["Pendek-1!", "tiadadigit-abc!", "tiadasimbol123", "123456789012!", "            "],
    ids=["too short", "no digit", "no symbol", "no letter", "only spaces"],
)
def test_weak_password_is_refused_at_registration(govchat: GovChatServer, weak_password: str) -> None:
    answer = govchat.client_api("POST", "/register", json={"username": f"u{uuid.uuid4().hex[:8]}", "password": weak_password})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errcode"] == "M_WEAK_PASSWORD"
    assert " / " in answer.json()["error"]


def test_password_policy_is_advertised(govchat: GovChatServer) -> None:
    policy = govchat.client_api("GET", "/password_policy").json()
    assert policy["m.minimum_length"] == 12
    assert policy["m.require_digit"] and policy["m.require_symbol"] and policy["m.require_lowercase"]


def test_weak_password_is_refused_at_password_change(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user(password=STRONG_PASSWORD)
    body = {
        "new_password": "lemah",
        "auth": {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user.user_id}, "password": STRONG_PASSWORD},
    }
    answer = govchat.client_api("POST", "/account/password", user.access_token, json=body)
    assert answer.status_code == 400
    assert answer.json()["errcode"] == "M_WEAK_PASSWORD"
    assert govchat.login(user.user_id, STRONG_PASSWORD).status_code == 200


def test_forgotten_password_is_reset_through_the_mailed_link(govchat: GovChatServer) -> None:
    user = govchat.register_with_email(unique("lupa", "moe.gov.my"), STRONG_PASSWORD)
    assert user.email is not None
    client_secret = uuid.uuid4().hex
    answer = govchat.client_api(
        "POST", "/account/password/email/requestToken", json={"email": user.email, "client_secret": client_secret, "send_attempt": 1}
    )
    assert answer.status_code == 200, answer.text
    sid = answer.json()["sid"]
    link = mail_link(govchat.wait_for_mail(to=user.email), "password_reset")
    confirmation_page = requests.get(link, timeout=30)
    assert confirmation_page.status_code == 200
    assert requests.post(link, timeout=30).status_code == 200

    new_password = "Baharu-Kata-9?"
    body = {
        "new_password": new_password,
        "logout_devices": True,
        "auth": {"type": "m.login.email.identity", "threepid_creds": {"sid": sid, "client_secret": client_secret}},
    }
    answer = govchat.client_api("POST", "/account/password", json=body)
    if answer.status_code == 401:  # Synapse first opens a UI-auth session
        body["auth"]["session"] = answer.json()["session"]
        answer = govchat.client_api("POST", "/account/password", json=body)
    assert answer.status_code == 200, answer.text
    assert govchat.login(user.user_id, STRONG_PASSWORD).status_code == 403
    assert govchat.login(user.user_id, new_password).status_code == 200
    assert govchat.client_api("GET", "/account/whoami", user.access_token).status_code == 401


def test_files_up_to_100_megabytes_upload_and_larger_are_refused(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    limit = 100 * 1024 * 1024
    upload = "/_matrix/media/v3/upload?filename=laporan.bin"
    headers = {"Content-Type": "application/octet-stream"}
    accepted = govchat.request("POST", upload, user.access_token, data=b"\0" * limit, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["content_uri"].startswith("mxc://")
    for too_large in (limit + 1, limit + 20 * 1024 * 1024):
        refused = govchat.request("POST", upload, user.access_token, data=b"\0" * too_large, headers=headers)
        assert refused.status_code == 413
        assert refused.json()["errcode"] == "M_TOO_LARGE"
    config = govchat.request("GET", "/_matrix/client/v1/media/config", user.access_token).json()
    assert config["m.upload.size"] == limit


def test_each_users_agency_is_recorded_and_listed_for_administrators(govchat: GovChatServer, admin: User) -> None:
    in_division = govchat.register_with_email(unique("cikgu", "bahagian.moe.gov.my"))
    unlisted_agency = govchat.register_with_email(unique("kerani", "kln.gov.my"))

    listed: dict[str, dict[str, object]] = {}
    since = ""
    while True:
        query = f"?limit=2&from={since}" if since else "?limit=2"
        page = govchat.request("GET", f"/_synapse/client/govchat/v1/users/agencies{query}", admin.access_token)
        assert page.status_code == 200, page.text
        listed.update({entry["user_id"]: entry for entry in page.json()["users"]})
        since = page.json().get("next_from", "")
        if not since:
            break
    assert listed[in_division.user_id]["agency"] == {"domain": "moe.gov.my", "name": "Kementerian Pendidikan", "ministry": "Kementerian Pendidikan"}
    assert listed[in_division.user_id]["email"] == in_division.email
    assert listed[unlisted_agency.user_id]["agency"]["domain"] == "gov.my"  # type: ignore[index]

    command = subprocess.run(
        [sys.executable, "-m", "govchat", "users", "agencies", "--json", "--token", admin.access_token],
        cwd=REPO_ROOT, env=govchat.environment(), capture_output=True, text=True, timeout=60,
    )
    assert command.returncode == 0, command.stderr
    from_console = {entry["user_id"]: entry for entry in json.loads(command.stdout)["users"]}
    assert from_console[in_division.user_id]["agency"]["domain"] == "moe.gov.my"


def test_agency_list_is_refused_to_ordinary_users_and_anonymous_callers(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    forbidden = govchat.request("GET", "/_synapse/client/govchat/v1/users/agencies", user.access_token)
    assert forbidden.status_code == 403
    assert forbidden.json()["errcode"] == "M_FORBIDDEN"
    anonymous = govchat.request("GET", "/_synapse/client/govchat/v1/users/agencies")
    assert anonymous.status_code == 401


def test_agency_list_with_a_bad_limit_gets_a_clear_400(govchat: GovChatServer, admin: User) -> None:
    answer = govchat.request("GET", "/_synapse/client/govchat/v1/users/agencies?limit=abc", admin.access_token)
    assert answer.status_code == 400
    assert answer.json()["errcode"] == "M_INVALID_PARAM"
    assert "limit" in answer.json()["error"]


def test_console_command_without_token_says_what_is_missing(govchat: GovChatServer) -> None:
    env = govchat.environment()
    env.pop("GOVCHAT_ADMIN_TOKEN", None)
    command = subprocess.run(
        [sys.executable, "-m", "govchat", "users", "agencies"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert command.returncode == 2
    assert command.stderr.strip().count("\n") == 0 and "token" in command.stderr


def test_federation_is_off(govchat: GovChatServer) -> None:
    assert govchat.request("GET", "/_matrix/federation/v1/version").status_code == 404
    assert govchat.request("GET", "/_matrix/key/v2/server").status_code == 404
