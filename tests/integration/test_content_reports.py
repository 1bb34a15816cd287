"""Content reports end to end on a real homeserver (R9.3, R1.6): Element's "Report" reaches the
administrators (and a group's moderators or a channel's owners), waits in the queue, and an
administrator removes the message, warns the sender or starts an A5 breach cancellation.

One homeserver serves this file, with a 3-second edit window (so "after the window" comes
quickly), a 1-second intake and a limit of 5 reports per reporter. Encrypted messages are
sent and read by matrix-nio clients with real Megolm encryption.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
from nio import RoomMessageText
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium, page_replaced, screenshot
from tests.conftest import TEST_SETTINGS
from tests.harness import GovChatServer, User
from tests.integration.applications_helpers import act, fetch, make_head, server_notices
from tests.integration.test_metrics import synapse_metrics
from tests.integration.test_public_channels import create_channel
from tests.nio_clients import close_all, e2ee_client, run, send_encrypted_text, sync_until

pytestmark = pytest.mark.integration

API = "/_synapse/client/govchat/v1/content-reports"
PAGES = "/_synapse/client/govchat/content-reports"
WINDOW = 3
MAX_REPORTS = 5
SETTINGS = {
    **TEST_SETTINGS,
    "messages": {"edit_window_seconds": WINDOW},
    "content_reports": {"poll_interval_seconds": 1, "max_reports_per_window": MAX_REPORTS},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    with GovChatServer(data_dir=tmp_path_factory.mktemp("content-reports"), settings=SETTINGS).running() as server:
        yield server


def official(server: GovChatServer, name: str) -> User:
    return server.register_with_email(f"{name}.{uuid.uuid4().hex[:6]}@mampu.gov.my")


def report(server: GovChatServer, user: User, room_id: str, event_id: str, reason: str) -> None:
    path = f"/rooms/{quote(room_id)}/report/{quote(event_id)}"
    answer = server.client_api("POST", path, user.access_token, json={"reason": reason})
    assert answer.status_code == 200, answer.text


def queue(server: GovChatServer, user: User, **query: str) -> requests.Response:
    return server.request("GET", API, user.access_token, params=query)


def item_for(server: GovChatServer, admin: User, event_id: str, timeout: float = 30) -> dict[str, Any]:
    """The queue item about a message, once the intake has taken its report in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in queue(server, admin).json()["reports"]:
            if item["event_id"] == event_id:
                return dict(server.request("GET", f"{API}/{item['item_id']}", admin.access_token).json())
        time.sleep(0.3)
    raise AssertionError(f"no queue item for {event_id} within {timeout} s")


def announced(server: GovChatServer, admin: User, event_id: str) -> dict[str, Any]:
    """The item once its notices are all sent (Synapse caches a first /sync briefly, so read notices only then)."""
    wait_for(lambda: any(entry["action"] == "announced" for entry in item_for(server, admin, event_id)["audit"]))
    return item_for(server, admin, event_id)


def wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.3)


def do(server: GovChatServer, user: User, item_id: str, action: str, body: Any = None) -> requests.Response:
    return server.request("POST", f"{API}/{item_id}/{action}", user.access_token, json=body if body is not None else {})


def what_the_sender_learns(server: GovChatServer, sender: User, room_id: str, event_id: str) -> str:
    """Every server notice the sender got and the removal of their message, as text."""
    notices = server_notices(server, sender, lambda bodies: True)
    event = server.client_api("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}", sender.access_token).json()
    return "\n".join(notices) + "\n" + str(event.get("unsigned", {}).get("redacted_because", {}))


def is_redacted(server: GovChatServer, reader: User, room_id: str, event_id: str) -> bool:
    event = server.client_api("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}", reader.access_token).json()
    return "redacted_because" in event.get("unsigned", {})


@dataclass
class Group:
    """An end-to-end encrypted group: carol created it (a moderator), alice posts, bob reports."""

    room_id: str
    alice: User
    bob: User
    carol: User
    message: str
    text: str


@pytest.fixture(scope="module")
def admins(server: GovChatServer) -> tuple[User, User]:
    return server.register_admin(), server.register_admin()


@pytest.fixture(scope="module")
def group(server: GovChatServer, tmp_path_factory: pytest.TempPathFactory) -> Group:
    alice, bob, carol = official(server, "alice"), official(server, "bob"), official(server, "carol")
    created = server.client_api(
        "POST", "/createRoom", carol.access_token,
        json={"preset": "private_chat", "name": "Kumpulan Projek", "invite": [alice.user_id, bob.user_id]},
    )
    assert created.status_code == 200, created.text
    room_id = created.json()["room_id"]
    for user in (alice, bob):
        assert server.client_api("POST", f"/join/{quote(room_id)}", user.access_token, json={}).status_code == 200
    text = f"Kata-kata kesat {uuid.uuid4().hex[:6]}"
    store = tmp_path_factory.mktemp("nio")

    async def scenario() -> str:
        sender = await e2ee_client(server, alice, store / "alice")
        reader = await e2ee_client(server, bob, store / "bob")
        try:
            await sync_until(sender, lambda: room_id in sender.rooms)
            event_id = await send_encrypted_text(sender, room_id, text)
            decrypted: list[str] = []

            def bob_reads_it() -> bool:
                room = reader.rooms.get(room_id)
                return room is not None and any(
                    isinstance(event, RoomMessageText) and event.body == text for event in decrypted
                )

            reader.add_event_callback(lambda room, event: decrypted.append(event), RoomMessageText)  # type: ignore[arg-type]
            await sync_until(reader, bob_reads_it)
            return event_id
        finally:
            await close_all(sender, reader)

    message = run(scenario())
    event = server.client_api("GET", f"/rooms/{quote(room_id)}/event/{quote(message)}", bob.access_token).json()
    assert event["type"] == "m.room.encrypted"  # the server holds only ciphertext
    return Group(room_id, alice, bob, carol, message, text)


# --- a report in an encrypted group ----------------------------------------------------------


def test_report_in_an_encrypted_group_reaches_administrators_and_moderators_but_not_the_sender(
    server: GovChatServer, admins: tuple[User, User], group: Group
) -> None:
    admin, _ = admins
    # Bob's device decrypted the message; he copies its text into the reason, as the pages ask.
    report(server, group.bob, group.room_id, group.message, f"Kesat / Abusive: \"{group.text}\"")
    item = announced(server, admin, group.message)
    assert item["subject"] == "event" and item["state"] == "new"
    assert item["sender"] == group.alice.user_id and item["room_id"] == group.room_id
    assert item["event_type"] == "m.room.encrypted" and item["encrypted"] is True
    assert "cannot read" in item["encrypted_note"] and item["event_ts"] > 0
    assert item["room_name"] == "Kumpulan Projek"
    assert item["reports"][0]["reporter"] == group.bob.user_id and group.text in item["reports"][0]["reason"]

    notices = server_notices(server, admin, lambda bodies: any(item["item_id"] in body for body in bodies))
    notice = next(body for body in notices if item["item_id"] in body)
    for fact in (group.room_id, group.alice.user_id, group.bob.user_id, group.text, "m.room.encrypted", f"{PAGES}/{item['item_id']}"):
        assert fact in notice
    # Carol created the group (a moderator): told, without the reporter's name.
    told = server_notices(server, group.carol, lambda bodies: any(item["item_id"] in body for body in bodies))
    carol_notice = next(body for body in told if item["item_id"] in body)
    assert group.alice.user_id in carol_notice and group.bob.user_id not in carol_notice

    # A second report of the same message joins the item and is announced no further.
    report(server, group.carol, group.room_id, group.message, "Setuju / Agreed")
    wait_for(lambda: item_for(server, admin, group.message)["report_count"] == 2)
    assert [entry["item_id"] for entry in queue(server, admin).json()["reports"]].count(item["item_id"]) == 1
    announcements = [entry for entry in item_for(server, admin, group.message)["audit"] if entry["action"] == "announced"]
    assert len(announcements) == 1 and admin.user_id in announcements[0]["note"] and group.carol.user_id in announcements[0]["note"]


def test_administrator_removes_the_message_after_the_window_and_warns_the_sender(
    server: GovChatServer, admins: tuple[User, User], group: Group
) -> None:
    admin, _ = admins
    item = item_for(server, admin, group.message)
    time.sleep(WINDOW + 1)
    # The sender herself may no longer delete it...
    own = server.client_api("PUT", f"/rooms/{quote(group.room_id)}/redact/{quote(group.message)}/{uuid.uuid4().hex}", group.alice.access_token, json={})
    assert own.status_code == 403, own.text
    # ...but removing it is moderation, allowed at any time.
    assert do(server, admin, item["item_id"], "review", {"note": "Disemak"}).json()["state"] == "under_review"
    removed = do(server, admin, item["item_id"], "remove", {"note": "Kandungan kesat"})
    assert removed.status_code == 200, removed.text
    assert removed.json()["state"] == "acted_on" and removed.json()["removed_ts"]
    assert is_redacted(server, group.bob, group.room_id, group.message)
    assert do(server, admin, item["item_id"], "remove").status_code == 409  # once

    warned = do(server, admin, item["item_id"], "warn", {"note": "Sila berhemah / Please be courteous"})
    assert warned.status_code == 200, warned.text
    notices = server_notices(server, group.alice, lambda bodies: any("Amaran / Warning" in body for body in bodies))
    warning = next(body for body in notices if "Amaran / Warning" in body)
    assert "Kumpulan Projek" in warning and "Please be courteous" in warning and item["item_id"] in warning

    trail = item_for(server, admin, group.message)
    assert [entry["action"] for entry in trail["audit"]] == ["reported", "announced", "reported", "under_review", "removed", "warned"]
    assert [entry["actor"] for entry in trail["audit"][3:]] == [admin.user_id] * 3
    assert all(entry["ts"] > 0 for entry in trail["audit"])

    # Neither the warning nor the removal names who reported her.
    learnt = what_the_sender_learns(server, group.alice, group.room_id, group.message)
    assert item["item_id"] in learnt and group.bob.user_id not in learnt and group.carol.user_id not in learnt


def test_report_in_a_channel_reaches_its_other_owners(server: GovChatServer, admins: tuple[User, User]) -> None:
    admin, _ = admins
    poster, other_owner, member = (server.register_plain_user() for _ in range(3))
    channel = create_channel(server, admin, [poster.user_id, other_owner.user_id], name="Pengumuman Ujian Laporan")
    assert server.client_api("POST", f"/join/{quote(channel['room_id'])}", member.access_token, json={}).status_code == 200
    sent = server.client_api(
        "PUT", f"/rooms/{quote(channel['room_id'])}/send/m.room.message/{uuid.uuid4().hex}", poster.access_token,
        json={"msgtype": "m.text", "body": "Kenyataan provokatif"},
    )
    assert sent.status_code == 200, sent.text
    event_id = sent.json()["event_id"]
    report(server, member, channel["room_id"], event_id, "Provokatif / Provocative")
    item = announced(server, admin, event_id)
    assert item["event_type"] == "m.room.message" and item["encrypted"] is False and item["sender"] == poster.user_id
    server_notices(server, admin, lambda bodies: any(item["item_id"] in body for body in bodies))
    told = server_notices(server, other_owner, lambda bodies: any(item["item_id"] in body for body in bodies))
    owner_notice = next(body for body in told if item["item_id"] in body)
    assert "pemilik saluran" in owner_notice and member.user_id not in owner_notice
    time.sleep(WINDOW + 1)
    assert do(server, admin, item["item_id"], "remove").status_code == 200
    assert is_redacted(server, member, channel["room_id"], event_id)
    assert do(server, admin, item["item_id"], "warn").status_code == 200
    server_notices(server, poster, lambda bodies: any("Amaran / Warning" in body for body in bodies))
    assert member.user_id not in what_the_sender_learns(server, poster, channel["room_id"], event_id)


def test_room_and_user_reports_are_queued_too(server: GovChatServer, admins: tuple[User, User]) -> None:
    admin, _ = admins
    reporter, rude = server.register_plain_user(), server.register_plain_user()
    room = server.client_api("POST", "/createRoom", rude.access_token, json={"preset": "private_chat", "invite": [reporter.user_id]}).json()["room_id"]
    server.client_api("POST", f"/join/{quote(room)}", reporter.access_token, json={})
    assert server.client_api("POST", f"/users/{quote(rude.user_id)}/report", reporter.access_token, json={"reason": "Mengganggu / Harassing"}).status_code == 200
    assert server.client_api("POST", f"/rooms/{quote(room)}/report", reporter.access_token, json={"reason": "Bilik provokatif"}).status_code == 200

    def find(subject: str, key: str, value: str) -> dict[str, Any] | None:
        return next((i for i in queue(server, admin).json()["reports"] if i["subject"] == subject and i[key] == value), None)

    wait_for(lambda: find("user", "sender", rude.user_id) is not None and find("room", "room_id", room) is not None)
    user_item = find("user", "sender", rude.user_id)
    room_item = find("room", "room_id", room)
    assert user_item is not None and room_item is not None
    assert server.request("GET", f"{API}/{room_item['item_id']}", admin.access_token).json()["allowed_actions"] == ["review", "dismiss"]
    assert do(server, admin, room_item["item_id"], "remove").status_code == 409
    assert do(server, admin, user_item["item_id"], "warn", {"note": "Amaran pertama"}).status_code == 200
    server_notices(server, rude, lambda bodies: any(user_item["item_id"] in body for body in bodies))
    assert do(server, admin, room_item["item_id"], "dismiss", {"note": "Tiada pelanggaran / No breach"}).json()["state"] == "dismissed"


# --- an account cancellation for a breach (R1.6) ------------------------------------------------


def test_breach_cancellation_from_a_report_is_endorsed_approved_and_deactivates_the_account(
    server: GovChatServer, admins: tuple[User, User], group: Group
) -> None:
    admin, second_admin = admins
    head = make_head(server, admin, "mampu.gov.my")
    offender = official(server, "pesalah")
    room = server.client_api("POST", "/createRoom", group.bob.access_token, json={"preset": "private_chat", "invite": [offender.user_id]}).json()["room_id"]
    server.client_api("POST", f"/join/{quote(room)}", offender.access_token, json={})
    sent = server.client_api(
        "PUT", f"/rooms/{quote(room)}/send/m.room.message/{uuid.uuid4().hex}", offender.access_token,
        json={"msgtype": "m.text", "body": "Hasutan berulang"},
    )
    event_id = sent.json()["event_id"]
    report(server, group.bob, room, event_id, "Menghasut / Seditious")
    item = announced(server, admin, event_id)

    started = do(server, admin, item["item_id"], "cancel_account", {"note": "Pelanggaran berulang / Repeated breaches"})
    assert started.status_code == 200, started.text
    application_id = started.json()["application_id"]
    assert application_id.startswith("A5-") and started.json()["state"] == "acted_on"
    assert do(server, admin, item["item_id"], "cancel_account").status_code == 409  # one per report

    application = fetch(server, head, application_id).json()  # the offender's head of department sees it
    assert application["kind"] == "account_cancellation" and application["agency"]["domain"] == "mampu.gov.my"
    assert application["details"]["account"] == offender.user_id and application["details"]["report"] == item["item_id"]
    server_notices(server, head, lambda bodies: any(application_id in body for body in bodies))

    assert act(server, second_admin, application_id, "approve").status_code == 409  # not endorsed yet
    assert act(server, head, application_id, "endorse", "Disokong").json()["state"] == "endorsed"
    assert act(server, admin, application_id, "approve").status_code == 403  # nobody decides their own application
    approved = act(server, second_admin, application_id, "approve", "Lulus")
    assert approved.json()["state"] == "carried_out", approved.text

    login = server.login(offender.user_id, offender.password)
    assert login.status_code == 403 and login.json()["errcode"] in ("M_FORBIDDEN", "M_USER_DEACTIVATED")
    trail = item_for(server, admin, event_id)
    assert trail["audit"][-1]["action"] == "cancellation_started" and application_id in trail["audit"][-1]["note"]


# --- refusals -----------------------------------------------------------------------------------


def test_only_administrators_see_or_act_on_the_queue(server: GovChatServer, admins: tuple[User, User], group: Group) -> None:
    admin, _ = admins
    item = item_for(server, admin, group.message)
    for response in (
        queue(server, group.bob),
        server.request("GET", f"{API}/{item['item_id']}", group.carol.access_token),
        do(server, group.alice, item["item_id"], "dismiss", {"note": "bukan saya"}),
    ):
        assert response.status_code == 403 and response.json()["errcode"] == "M_FORBIDDEN"
        assert " / " in response.json()["error"]
    assert server.request("GET", API).status_code == 401
    pages = requests.get(server.base_url + PAGES, cookies={"govchat_session": group.bob.access_token}, timeout=30)
    assert pages.status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "errcode"),
    [
        ({}, "note", "M_MISSING_PARAM"),
        ({"note": 7}, "note", "M_INVALID_PARAM"),
        ({"note": "x" * 2001}, "note", "M_INVALID_PARAM"),
        ([], "body", "M_BAD_JSON"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    server: GovChatServer, admins: tuple[User, User], body: Any, field: str, errcode: str
) -> None:
    admin, _ = admins
    sender, reporter = server.register_plain_user(), server.register_plain_user()
    room = server.client_api("POST", "/createRoom", sender.access_token, json={"preset": "private_chat", "invite": [reporter.user_id]}).json()["room_id"]
    server.client_api("POST", f"/join/{quote(room)}", reporter.access_token, json={})
    event_id = server.client_api("PUT", f"/rooms/{quote(room)}/send/m.room.message/{uuid.uuid4().hex}", sender.access_token, json={"msgtype": "m.text", "body": "?"}).json()["event_id"]
    report(server, reporter, room, event_id, "spam")
    before = announced(server, admin, event_id)
    refused = do(server, admin, before["item_id"], "dismiss", body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errcode"] == errcode and refused.json()["field"] == field and " / " in refused.json()["error"]
    after = item_for(server, admin, event_id)
    assert after["state"] == before["state"] and after["audit"] == before["audit"]


def test_bad_queue_filter_and_malformed_json_are_400(server: GovChatServer, admins: tuple[User, User]) -> None:
    admin, _ = admins
    bad_state = queue(server, admin, state="semua")
    assert bad_state.status_code == 400 and bad_state.json()["field"] == "state"
    bad_limit = queue(server, admin, limit="0")
    assert bad_limit.status_code == 400 and bad_limit.json()["errcode"] == "M_INVALID_PARAM"
    broken = server.request("POST", f"{API}/L-000000000000/dismiss", admin.access_token, data=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["field"] == "body"
    assert do(server, admin, "L-000000000000", "dismiss", {"note": "x"}).status_code == 404


def test_a_flood_of_reports_from_one_user_is_held(server: GovChatServer, admins: tuple[User, User]) -> None:
    admin, _ = admins
    flooder, talker = server.register_plain_user(), server.register_plain_user()
    room = server.client_api("POST", "/createRoom", talker.access_token, json={"preset": "private_chat", "invite": [flooder.user_id]}).json()["room_id"]
    server.client_api("POST", f"/join/{quote(room)}", flooder.access_token, json={})
    events = [
        server.client_api("PUT", f"/rooms/{quote(room)}/send/m.room.message/{uuid.uuid4().hex}", talker.access_token, json={"msgtype": "m.text", "body": f"mesej {n}"}).json()["event_id"]
        for n in range(MAX_REPORTS + 3)
    ]
    held_before = queue(server, admin).json()["held"]
    for event_id in events:
        report(server, flooder, room, event_id, "spam")
    wait_for(lambda: queue(server, admin).json()["held"] == held_before + 3)
    queued = {item["event_id"] for item in queue(server, admin, limit="1000").json()["reports"]}
    assert len(queued & set(events)) == MAX_REPORTS
    server_notices(server, admin, lambda bodies: sum(flooder.user_id in body for body in bodies) >= MAX_REPORTS)
    time.sleep(2)  # a held report would have been announced by now
    notices = server_notices(server, admin, lambda bodies: True)
    assert sum(flooder.user_id in body for body in notices) == MAX_REPORTS
    metrics = synapse_metrics(server)  # the intake runs on the background-tasks process: read every process's
    assert 'govchat_content_reports_received_total{outcome="held",subject="event"} 3.0' in metrics
    assert "govchat_content_reports_intake_up 1.0" in metrics


# --- the same queue through Chromium ---------------------------------------------------------------


def test_the_queue_through_the_web_pages(server: GovChatServer, admins: tuple[User, User]) -> None:
    admin, _ = admins
    sender, reporter = server.register_plain_user(), server.register_plain_user()
    room = server.client_api(
        "POST", "/createRoom", sender.access_token, json={"preset": "private_chat", "name": "Bilik Web", "invite": [reporter.user_id]}
    ).json()["room_id"]
    server.client_api("POST", f"/join/{quote(room)}", reporter.access_token, json={})
    event_id = server.client_api(
        "PUT", f"/rooms/{quote(room)}/send/m.room.encrypted/{uuid.uuid4().hex}", sender.access_token,
        json={"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnAx", "sender_key": "k", "session_id": "s", "device_id": "D"},
    ).json()["event_id"]
    report(server, reporter, room, event_id, "Lucah / Obscene (teks disalin / text copied)")
    item = item_for(server, admin, event_id)

    with chromium() as browser:
        browser.get(server.base_url + PAGES)
        WebDriverWait(browser, 10).until(expected_conditions.url_contains("/sign-in"))
        browser.find_element(By.ID, "user").send_keys(admin.user_id)
        browser.find_element(By.ID, "password").send_keys(admin.password)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "reports")))
        assert item["item_id"] in browser.find_element(By.ID, "reports").text
        screenshot(browser, "content-reports-queue")

        browser.find_element(By.LINK_TEXT, item["item_id"]).click()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "facts")))
        assert "cannot read" in browser.find_element(By.ID, "encrypted-note").text
        assert sender.user_id in browser.find_element(By.ID, "sender").text
        assert reporter.user_id in browser.find_element(By.ID, "filings").text
        screenshot(browser, "content-report-detail")

        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "do-dismiss").click()  # without the required note
        WebDriverWait(browser, 10).until(page_replaced(page))
        assert "note" in browser.find_element(By.ID, "problem").text
        assert browser.find_element(By.ID, "state").text == "new"

        browser.find_element(By.ID, "note").send_keys("Mesej lucah / Obscene message")
        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "do-remove").click()
        WebDriverWait(browser, 10).until(page_replaced(page))
        assert browser.find_element(By.ID, "state").text == "acted_on"
        assert "removed" in browser.find_element(By.ID, "audit").text
        browser.execute_script("document.getElementById('audit').scrollIntoView()")
        screenshot(browser, "content-report-acted-on")

        browser.get(server.base_url + PAGES + "?state=acted_on")
        assert item["item_id"] in browser.find_element(By.ID, "reports").text
    assert is_redacted(server, reporter, room, event_id)


def test_form_posts_without_the_csrf_token_are_refused(server: GovChatServer, admins: tuple[User, User], group: Group) -> None:
    admin, _ = admins
    item = item_for(server, admin, group.message)
    session = requests.Session()
    session.cookies.set("govchat_session", admin.access_token, path="/_synapse/client/govchat/")
    refused = session.post(f"{server.base_url}{PAGES}/{item['item_id']}", data={"action": "warn"}, allow_redirects=False, timeout=30)
    assert refused.status_code == 403
    assert item_for(server, admin, group.message)["audit"] == item["audit"]

