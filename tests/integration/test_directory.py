"""Agency staff directories on a real homeserver against a real OpenLDAP (R1.5, R2.2):
only people with an active entry register, under the directory's name, which they
cannot change; the sync deactivates those whose entry is gone or disabled."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from synapse_modules.directory.rules import DIRECTORY_UNAVAILABLE, NAME_LOCKED, NO_ACTIVE_ENTRY
from tests.harness import REPO_ROOT, GovChatServer, User
from tests.ldap_server import LdapServer, cleanup

DOMAIN = "mampu.gov.my"
SYNC_API = "/_synapse/client/govchat/v1/directory/sync"
# docs/directory.md: an active answer is remembered for 5 seconds per process, no longer.
REMEMBERED_SECONDS = 5


@pytest.fixture(scope="module")
def ldap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    server = LdapServer(tmp_path_factory.mktemp("slapd"))
    server.start()
    try:
        yield server
    finally:
        cleanup(server)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ldap: LdapServer) -> Iterator[GovChatServer]:
    settings: dict[str, Any] = {
        "registration": {
            "agencies": [
                {"domain": "gov.my", "name": "Kerajaan Malaysia (agensi lain)", "ministry": "Kerajaan Malaysia"},
                {"domain": DOMAIN, "name": "MAMPU", "ministry": "Jabatan Perdana Menteri"},
                {"domain": "jpa.gov.my", "name": "Jabatan Perkhidmatan Awam", "ministry": "Jabatan Perdana Menteri"},
            ]
        },
        "bot": {"enabled": False},
        "directory": {
            "agencies": [
                {
                    "domain": DOMAIN,
                    "url": ldap.url,
                    "base_dn": ldap.people_dn,
                    "bind_dn": ldap.root_dn,
                    "bind_password": ldap.root_password,
                    "active_filter": "(!(employeeType=disabled))",
                    "lock_display_name": True,
                    "timeout_seconds": 2,
                }
            ],
        },
    }
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-directory"), settings=settings).running() as govchat:
        yield govchat


@pytest.fixture(scope="module")
def admin(server: GovChatServer) -> User:
    return server.register_admin()


def staff(ldap: LdapServer, name: str, disabled: bool = False) -> str:
    address = f"staf-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    ldap.add_person(address, name, disabled=disabled)
    return address


def request_token(server: GovChatServer, address: str) -> Any:
    body = {"email": address, "client_secret": uuid.uuid4().hex, "send_attempt": 1}
    return server.client_api("POST", "/register/email/requestToken", json=body)


def display_name(server: GovChatServer, user: User) -> Any:
    return server.client_api("GET", f"/profile/{quote(user.user_id)}/displayname", user.access_token).json().get("displayname")


def set_display_name(server: GovChatServer, user: User, name: str) -> Any:
    return server.client_api("PUT", f"/profile/{quote(user.user_id)}/displayname", user.access_token, json={"displayname": name})


def assert_no_mail_to(server: GovChatServer, address: str) -> None:
    """No mail to `address` since the last `new_mail()`, checked once a later marker mail has arrived."""
    recipients = [str(message["X-GovChat-Envelope-To"]) for message in server.mail_until_marker(marker_domain="jpa.gov.my")]
    assert not [to for to in recipients if address in to], recipients


def govchat_command(server: GovChatServer, admin: User, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**server.environment(), "GOVCHAT_ADMIN_TOKEN": admin.access_token}
    return subprocess.run(
        [sys.executable, "-m", "govchat", *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_active_entry_registers_with_the_directory_name(server: GovChatServer, ldap: LdapServer) -> None:
    user = server.register_with_email(staff(ldap, "Siti Nurhaliza binti Ahmad"))
    assert display_name(server, user) == "Siti Nurhaliza binti Ahmad"


@pytest.mark.parametrize("disabled", [False, True], ids=["no entry", "disabled entry"])
def test_address_without_an_active_entry_is_refused_before_any_mail(server: GovChatServer, ldap: LdapServer, disabled: bool) -> None:
    address = staff(ldap, "Bekas Pegawai", disabled=True) if disabled else f"tiada-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    server.new_mail()
    answer = request_token(server, address)
    assert answer.status_code == 403
    assert answer.json() == {"errcode": "M_THREEPID_DENIED", "error": NO_ACTIVE_ENTRY}
    assert_no_mail_to(server, address)


def test_unreachable_directory_refuses_with_try_again_later(server: GovChatServer, ldap: LdapServer) -> None:
    address = staff(ldap, "Aminah binti Yusof")
    ldap.stop()
    try:
        server.new_mail()
        answer = request_token(server, address)
        assert answer.status_code == 403
        assert answer.json() == {"errcode": "M_THREEPID_DENIED", "error": DIRECTORY_UNAVAILABLE}
        assert_no_mail_to(server, address)
    finally:
        ldap.start()
    # Once the directory answers again, the same person registers.
    assert display_name(server, user := server.register_with_email(address)) == "Aminah binti Yusof", user


def test_locked_display_name_cannot_be_changed_in_profile_or_rooms(server: GovChatServer, ldap: LdapServer) -> None:
    user = server.register_with_email(staff(ldap, "Rahman bin Ismail"))
    refused = set_display_name(server, user, "Raja Lawak")
    assert refused.status_code == 403
    assert refused.json() == {"errcode": "M_FORBIDDEN", "error": NAME_LOCKED}
    assert display_name(server, user) == "Rahman bin Ismail"
    # Re-sending the directory's own name (as clients sometimes do) is fine.
    assert set_display_name(server, user, "Rahman bin Ismail").status_code == 200

    room = server.client_api("POST", "/createRoom", user.access_token, json={"preset": "private_chat"}).json()["room_id"]
    own_member = f"/rooms/{quote(room)}/state/m.room.member/{quote(user.user_id)}"
    per_room = server.client_api("PUT", own_member, user.access_token, json={"membership": "join", "displayname": "Raja Lawak"})
    assert per_room.status_code == 403
    assert per_room.json()["error"] == NAME_LOCKED
    same = server.client_api("PUT", own_member, user.access_token, json={"membership": "join", "displayname": "Rahman bin Ismail"})
    assert same.status_code == 200, same.text


def test_entry_disabled_in_the_directory_cannot_start_a_registration_seconds_later(server: GovChatServer, ldap: LdapServer) -> None:
    address = staff(ldap, "Zainal bin Abidin")
    assert request_token(server, address).status_code == 200  # active: the answer is remembered a few seconds
    ldap.disable(address)
    # Until the remembered answer runs out a request may still pass; ask until one is refused,
    # with a deadline far beyond that so a slow machine cannot fail the test.
    deadline = time.monotonic() + REMEMBERED_SECONDS + 30
    while True:
        server.new_mail()
        answer = request_token(server, address)
        if answer.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.status_code == 403, f"still accepted {REMEMBERED_SECONDS + 30} s after the entry was disabled"
    assert answer.json() == {"errcode": "M_THREEPID_DENIED", "error": NO_ACTIVE_ENTRY}
    assert_no_mail_to(server, address)


def test_locked_name_change_is_refused_while_the_directory_is_unreachable(server: GovChatServer, ldap: LdapServer) -> None:
    user = server.register_with_email(staff(ldap, "Nor Azizah binti Kassim"))
    ldap.stop()
    try:
        refused = set_display_name(server, user, "Orang Lain")
        assert refused.status_code == 403
        assert refused.json() == {"errcode": "M_FORBIDDEN", "error": NAME_LOCKED}
    finally:
        ldap.start()
    assert display_name(server, user) == "Nor Azizah binti Kassim"


def test_domains_without_a_directory_are_unaffected(server: GovChatServer) -> None:
    user = server.register_with_email(f"pegawai-{uuid.uuid4().hex[:8]}@jpa.gov.my")
    assert set_display_name(server, user, "Nama Pilihan Sendiri").status_code == 200
    assert display_name(server, user) == "Nama Pilihan Sendiri"


def test_sync_deactivates_accounts_whose_entry_is_gone_or_disabled(server: GovChatServer, ldap: LdapServer, admin: User) -> None:
    leaver = server.register_with_email(staff(ldap, "Zainal bin Osman"))
    retiree = server.register_with_email(staff(ldap, "Kamala a/p Devi"))
    stayer = server.register_with_email(staff(ldap, "Lim Mei Ling"))
    outsider = server.register_with_email(f"pegawai-{uuid.uuid4().hex[:8]}@jpa.gov.my")
    ldap.remove(str(leaver.email))
    ldap.disable(str(retiree.email))
    expected = sorted(
        [
            {"user_id": leaver.user_id, "email": leaver.email, "reason": "no_entry"},
            {"user_id": retiree.user_id, "email": retiree.email, "reason": "disabled"},
        ],
        key=lambda entry: str(entry["user_id"]),
    )

    dry = govchat_command(server, admin, "directory", "sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    dry_report = json.loads(dry.stdout)
    assert dry_report["dry_run"] is True and dry_report["deactivated"] == [] and dry_report["errors"] == []
    assert [entry for entry in dry_report["would_deactivate"] if entry["user_id"] in (leaver.user_id, retiree.user_id)] == expected
    assert server.login(leaver.user_id, leaver.password).status_code == 200

    real = govchat_command(server, admin, "directory", "sync")
    assert real.returncode == 0, real.stderr
    report = json.loads(real.stdout)
    assert [entry for entry in report["deactivated"] if entry["user_id"] in (leaver.user_id, retiree.user_id)] == expected
    mentioned = {entry["user_id"] for entry in report["deactivated"] + report["would_deactivate"]}
    assert stayer.user_id not in mentioned and outsider.user_id not in mentioned
    for gone in (leaver, retiree):
        assert server.login(gone.user_id, gone.password).status_code == 403
        assert server.client_api("GET", "/account/whoami", gone.access_token).status_code == 401
        account = server.request("GET", f"/_synapse/admin/v2/users/{quote(gone.user_id)}", admin.access_token).json()
        assert account["deactivated"] is True
    for kept in (stayer, outsider):
        assert server.login(kept.user_id, kept.password).status_code == 200


def test_sync_api_is_for_administrators_and_checks_its_input(server: GovChatServer, admin: User) -> None:
    assert server.request("POST", SYNC_API, json={"dry_run": True}).status_code == 401
    plain = server.register_plain_user()
    assert server.request("POST", SYNC_API, plain.access_token, json={"dry_run": True}).status_code == 403
    bad = server.request("POST", SYNC_API, admin.access_token, json={"dry_run": "ya"})
    assert bad.status_code == 400 and bad.json()["field"] == "dry_run" and bad.json()["errcode"] == "M_INVALID_PARAM"
    not_json = server.request("POST", SYNC_API, admin.access_token, data=b"[1, 2")
    assert not_json.status_code == 400 and not_json.json()["field"] == "body"


def test_periodic_sync_deactivates_without_anyone_asking(tmp_path_factory: pytest.TempPathFactory, ldap: LdapServer) -> None:
    settings: dict[str, Any] = {
        "bot": {"enabled": False},
        "directory": {
            "agencies": [
                {"domain": DOMAIN, "url": ldap.url, "base_dn": ldap.people_dn, "bind_dn": ldap.root_dn,
                 "bind_password": ldap.root_password, "active_filter": "(!(employeeType=disabled))"}
            ],
            "sync_interval_minutes": 1,  # the shortest period; the test waits for one run
        },
    }
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-periodic-sync"), settings=settings).running() as periodic:
        leaver = periodic.register_with_email(staff(ldap, "Rahman bin Yusof"))
        ldap.disable(str(leaver.email))
        deadline = time.monotonic() + 90
        while periodic.login(leaver.user_id, leaver.password).status_code == 200:
            assert time.monotonic() < deadline, "the periodic sync did not deactivate a disabled entry's account"
            time.sleep(2)
        assert periodic.login(leaver.user_id, leaver.password).status_code == 403


def directory_gate_calls(server: GovChatServer) -> float:
    """How many times, on every process, an accepted address was checked against a directory."""
    total = 0.0
    for port in server.synapse_metrics_ports():
        for line in requests.get(f"http://127.0.0.1:{port}/_synapse/metrics", timeout=30).text.splitlines():
            if line.startswith("govchat_directory_registration_lookups_total{"):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_registration_link_request_is_judged_once(server: GovChatServer, ldap: LdapServer) -> None:
    """GovChat's bilingual check and Synapse's own `is_3pid_allowed` share one verdict per request."""
    address = staff(ldap, "Nor Azizah binti Hassan")
    before = directory_gate_calls(server)
    assert request_token(server, address).status_code == 200
    assert directory_gate_calls(server) == before + 1
