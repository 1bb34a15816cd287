"""Time-driven parts of applications on a dedicated server with a one-second job and no review period:
external users reminded and deactivated at their end date (A4), cancellations on their date (A5),
overdue flags."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from govchat.malaysia_time import MALAYSIA_TIME
from tests.conftest import TEST_SETTINGS
from tests.harness import GovChatServer, User
from tests.integration.applications_helpers import act, fetch, make_head, official_user, submitted


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    settings = {**TEST_SETTINGS, "applications": {"review_period_days": 0, "check_interval_seconds": 1, "reminder_days": 7}}
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-applications"), settings=settings).running() as server:
        yield server


@pytest.fixture(scope="module")
def people(quick: GovChatServer) -> dict[str, User]:
    admin = quick.register_admin()
    return {"admin": admin, "head": make_head(quick, admin), "applicant": official_user(quick)}


def in_seconds(seconds: int) -> str:
    return (datetime.now(MALAYSIA_TIME) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def wait_until(condition: object, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def test_external_user_is_reminded_then_deactivated_at_the_end_date(quick: GovChatServer, people: dict[str, User]) -> None:
    external = f"sementara.{uuid.uuid4().hex[:8]}@contoh.com.my"
    details = {
        "purpose": "Ujian tamat tempoh",
        "end_date": in_seconds(30),
        "users": [{"name": "Pengguna Sementara", "organisation": "Contoh", "position": "Perunding", "email": external}],
    }
    application_id = submitted(quick, people["applicant"], "external_users", details)
    act(quick, people["head"], application_id, "endorse")
    assert act(quick, people["admin"], application_id, "approve").json()["state"] == "carried_out"
    user = quick.register_with_email(external)
    started = time.monotonic()

    reminder = quick.wait_for_mail(to=external)
    assert "tamat" in str(reminder["Subject"]).lower() or "ending" in str(reminder["Subject"]).lower()
    assert time.monotonic() - started < 20, "the reminder came too late to read it before the end"
    # The notice was handed to Synapse's server-notices manager (recorded in the trail).
    wait_until(lambda: any(
        entry["action"] == "reminded" and user.user_id in entry["note"]
        for entry in fetch(quick, people["admin"], application_id).json()["audit"]
    ), timeout=10)

    wait_until(lambda: quick.login(user.user_id, user.password).status_code == 403)
    trail = [entry["action"] for entry in fetch(quick, people["admin"], application_id).json()["audit"]]
    assert "reminded" in trail and trail[-1] == "permission_ended"
    again = quick.client_api("POST", "/register/email/requestToken", json={"email": external, "client_secret": "s" * 16, "send_attempt": 1})
    assert again.status_code == 403  # the permission has ended


def test_cancellation_waits_for_its_effective_date(quick: GovChatServer, people: dict[str, User]) -> None:
    leaver_email = f"berpindah.{uuid.uuid4().hex[:8]}@mampu.gov.my"
    leaver = quick.register_with_email(leaver_email)
    details = {"account": leaver.user_id, "account_email": leaver_email, "reason": "Bertukar agensi", "effective_date": in_seconds(4)}
    application_id = submitted(quick, people["applicant"], "account_cancellation", details)
    act(quick, people["head"], application_id, "endorse")
    approved = act(quick, people["admin"], application_id, "approve").json()
    assert approved["state"] == "approved" and approved["audit"][-1]["action"] == "scheduled"
    assert quick.login(leaver.user_id, leaver.password).status_code == 200
    wait_until(lambda: fetch(quick, people["admin"], application_id).json()["state"] == "carried_out", timeout=20)
    # The deactivation is the main process's (through the outbox): at once on one process, within
    # a second or two on the worker layout, where the background worker carried the application out.
    wait_until(lambda: quick.login(leaver.user_id, leaver.password).status_code == 403, timeout=15)


def test_waiting_applications_past_the_review_period_are_flagged(quick: GovChatServer, people: dict[str, User]) -> None:
    details = {"channel_name": "Lewat", "owner_name": "X", "owner_email": people["applicant"].email}
    application_id = submitted(quick, people["applicant"], "public_channel", details)
    time.sleep(0.05)
    listed = quick.request("GET", "/_synapse/client/govchat/v1/applications?state=submitted", people["admin"].access_token).json()
    entry = next(item for item in listed["applications"] if item["application_id"] == application_id)
    assert entry["overdue"] is True and entry["waiting_for"] == "head"
