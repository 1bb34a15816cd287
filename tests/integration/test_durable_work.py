"""Work that must survive a failure or run once across processes, on a real homeserver:
the outbox retries a mail until the mail server is back, periodic jobs count their runs,
an administrator's directory sync waits for the running one, INFO joins are queued."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from govchat.mailserver import LocalMailServer
from tests.conftest import TEST_SETTINGS
from tests.harness import REPO_ROOT, GovChatServer, User, free_port
from tests.integration.applications_helpers import act, make_head, official_user, server_notices, submitted

CHECK_INTERVAL_SECONDS = 1
OUTBOX = "/_synapse/client/govchat/v1/outbox"


@pytest.fixture(scope="module")
def relay_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def mail_relay(server: GovChatServer, relay_port: int) -> Iterator[LocalMailServer]:
    relay = LocalMailServer(server.mail_dir, relay_port)
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, relay_port: int) -> Iterator[GovChatServer]:
    # Mail goes to a relay this test starts and stops (GovChat's own mail server lives in the launcher).
    settings = {
        **TEST_SETTINGS,
        "email": {"smtp_host": "127.0.0.1", "smtp_port": relay_port, "require_transport_security": False},
        "applications": {"check_interval_seconds": CHECK_INTERVAL_SECONDS},
    }
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-durable"), settings=settings).running() as running:
        yield running


@pytest.fixture(scope="module")
def people(server: GovChatServer, mail_relay: LocalMailServer) -> dict[str, User]:
    admin = server.register_admin()
    return {"admin": admin, "head": make_head(server, admin), "applicant": official_user(server)}


def database(server: GovChatServer, sql: str, values: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return server.database_rows(sql, values)


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def a4_details() -> dict[str, object]:
    return {
        "purpose": "Perunding projek / Project consultants",
        "end_date": (date.today() + timedelta(days=30)).isoformat(),
        "users": [{"name": "Perunding", "organisation": "Contoh Sdn Bhd", "position": "Perunding", "email": f"p.{uuid.uuid4().hex[:6]}@contoh.com.my"}],
    }


def test_mail_owed_while_the_mail_server_is_down_arrives_once_it_is_back(
    server: GovChatServer, people: dict[str, User], mail_relay: LocalMailServer
) -> None:
    applicant = people["applicant"]
    application_id = submitted(server, applicant, "external_users", a4_details())
    server.new_mail()
    mail_relay.stop()
    try:
        rejected = act(server, people["head"], application_id, "reject", "Tujuan tidak jelas")
        assert rejected.json()["state"] == "rejected"
        # The server notice does not depend on mail: it is delivered at once.
        server_notices(server, applicant, lambda bodies: any(application_id in body for body in bodies))
        pending = server.request("GET", OUTBOX, people["admin"].access_token).json()["pending"]
        owed = [item for item in pending if item["kind"] == "mail" and item["recipient"] == applicant.email]
        assert owed and owed[0]["attempts"] >= 1 and owed[0]["last_error"]
    finally:
        mail_relay.start()
    message = server.wait_for_mail(to=applicant.email or "", timeout=60)
    assert application_id in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    wait_until(lambda: not server.request("GET", OUTBOX, people["admin"].access_token).json()["pending"])
    time.sleep(2)
    assert [m for m in (server.new_mail()) if applicant.email in m.read_text(errors="replace")] == [], "delivered once"


def govchat_outbox(server: GovChatServer, admin: User, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**server.environment(), "GOVCHAT_ADMIN_TOKEN": admin.access_token}
    return subprocess.run(
        [sys.executable, "-m", "govchat", "outbox", *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_administrator_lists_a_mail_owed_and_retries_it_without_waiting_for_its_back_off(
    server: GovChatServer, people: dict[str, User], mail_relay: LocalMailServer
) -> None:
    # Its own applicant: an earlier test's mail to people["applicant"] may still be in the outbox.
    applicant, admin = official_user(server), people["admin"]
    application_id = submitted(server, applicant, "external_users", a4_details())
    server.new_mail()
    mail_relay.stop()
    try:
        act(server, people["head"], application_id, "reject", "Tujuan tidak jelas")

        def owed() -> list[dict[str, Any]]:
            listed = govchat_outbox(server, admin, "list", "--json")
            assert listed.returncode == 0, listed.stderr
            return [item for item in json.loads(listed.stdout)["pending"] if item["recipient"] == applicant.email]

        # Three failures: the next attempt is 20 s away.
        wait_until(lambda: bool(owed()) and owed()[0]["attempts"] >= 3)
        [item] = owed()
        table = govchat_outbox(server, admin, "list").stdout
        assert f"{item['id']}\tpending\tmail\t{applicant.email}" in table
    finally:
        mail_relay.start()
    retried = govchat_outbox(server, admin, "retry", item["id"])
    assert (retried.returncode, retried.stdout) == (0, f"{item['id']}\tretried\n"), retried.stderr
    message = server.wait_for_mail(to=applicant.email or "", timeout=10)
    assert application_id in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    again = govchat_outbox(server, admin, "retry", item["id"])
    assert again.returncode == 1 and "not retried" in again.stdout, "a delivered item is never sent again"
    time.sleep(2)
    assert [m for m in server.new_mail() if applicant.email in m.read_text(errors="replace")] == [], "delivered once"


def test_outbox_retry_is_for_administrators_and_checks_its_input(server: GovChatServer, people: dict[str, User]) -> None:
    admin = people["admin"]
    assert server.request("POST", OUTBOX + "/retry", people["applicant"].access_token, json={"all_given_up": True}).status_code == 403
    for body in ({}, {"ids": "x"}, {"ids": ["x"], "all_given_up": True}, {"ids": []}):
        answer = server.request("POST", OUTBOX + "/retry", admin.access_token, json=body)
        assert answer.status_code == 400 and " / " in answer.json()["error"], body
    assert server.request("POST", OUTBOX + "/retry", admin.access_token, json={"all_given_up": True}).json() == {"retried": []}


def test_outbox_listing_is_for_administrators_only(server: GovChatServer, people: dict[str, User]) -> None:
    assert server.request("GET", OUTBOX, people["applicant"].access_token).status_code == 403
    assert server.request("GET", OUTBOX).status_code == 401


def test_periodic_job_runs_once_per_interval(server: GovChatServer, people: dict[str, User]) -> None:
    def runs() -> int:
        rows = database(server, "SELECT runs FROM govchat_job_runs WHERE job = 'applications_due_work'")
        return int(rows[0][0]) if rows else 0

    wait_until(lambda: runs() > 0)
    before, started = runs(), time.monotonic()
    time.sleep(6)
    counted, elapsed = runs() - before, time.monotonic() - started
    assert 1 <= counted <= elapsed / CHECK_INTERVAL_SECONDS + 1
    # Only the process named by run_background_tasks_on takes periodic jobs: the background worker, if there is one.
    holder = str(database(server, "SELECT last_holder FROM govchat_job_runs WHERE job = 'applications_due_work'")[0][0])
    assert holder.startswith("background/" if server.uses_workers else "main/"), holder


def test_administrator_sync_waits_while_another_sync_holds_the_lease(server: GovChatServer, people: dict[str, User]) -> None:
    admin = people["admin"]
    far = int(time.time() * 1000) + 60_000
    database(server, "INSERT INTO govchat_job_leases (job, holder, expires_ts) VALUES ('directory_sync', 'client1/test', ?)", (far,))
    try:
        busy = server.request("POST", "/_synapse/client/govchat/v1/directory/sync", admin.access_token, json={"dry_run": True})
        assert busy.status_code == 409, busy.text
        assert " / " in busy.json()["error"]
    finally:
        database(server, "DELETE FROM govchat_job_leases WHERE job = 'directory_sync'")
    done = server.request("POST", "/_synapse/client/govchat/v1/directory/sync", admin.access_token, json={"dry_run": True})
    assert done.status_code == 200, done.text


def test_a_queued_info_join_is_carried_out_and_leaves_the_queue(server: GovChatServer, people: dict[str, User]) -> None:
    user = server.register_plain_user()
    info = server.client_api("GET", "/directory/room/%23info%3A" + server.server_name).json()["room_id"]
    wait_until(lambda: info in server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"])
    wait_until(lambda: not database(server, "SELECT user_id FROM govchat_info_joins WHERE user_id = ?", (user.user_id,)))
