"""An agency onboarding behind one office address (R8.3, issue 13): the real `registration.onboarding` profile.

The other tests run with every rate limit relaxed (tests/harness.py); this server runs
with the documented defaults of config/govchat.yaml and Synapse's limits as GovChat renders them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from govchat.mailserver import mail_files, read_mail
from synapse_modules.govchat_auth.synapse_adapter import MAILBOX_LIMITED
from tests.conftest import TEST_SETTINGS
from tests.harness import GovChatServer

OFFICE_COLLEAGUES = 300


@pytest.fixture(scope="module")
def onboarding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    server = GovChatServer(data_dir=tmp_path_factory.mktemp("onboarding"), settings=dict(TEST_SETTINGS))
    server.write_settings()
    path = server.data_dir / "govchat.yaml"
    written = yaml.safe_load(path.read_text())
    # Back to the real profile: GovChat's defaults, and Synapse's limits as GovChat renders them.
    del written["registration"]["onboarding"]
    for key in ("rc_3pid_validation", "rc_registration"):
        written["synapse_extra"].pop(key)
    path.write_text(yaml.safe_dump(written, allow_unicode=True))
    with server.running():
        yield server


def request_token(server: GovChatServer, email: str) -> requests.Response:
    body = {"email": email, "client_secret": uuid.uuid4().hex, "send_attempt": 1}
    return server.client_api("POST", "/register/email/requestToken", json=body)


def recipients(mail_dir: Path) -> list[str]:
    return [str(read_mail(path)["To"]) for path in mail_files(mail_dir)]


def test_rendered_synapse_limits_are_the_onboarding_profile(onboarding_server: GovChatServer) -> None:
    config = yaml.safe_load(onboarding_server.homeserver_config.read_text())
    assert config["rc_3pid_validation"] == {"per_second": 800 / 3600, "burst_count": 400}
    assert config["rc_registration"] == {"per_second": 800 / 3600, "burst_count": 400}


def test_one_mailbox_asking_twenty_times_in_a_minute_is_limited(onboarding_server: GovChatServer) -> None:
    address = f"sasaran.{uuid.uuid4().hex[:6]}@jpa.gov.my"
    answers = [request_token(onboarding_server, address) for _ in range(20)]
    codes = [answer.status_code for answer in answers]
    assert codes[:3] == [200, 200, 200], [answer.text for answer in answers[:3]]
    assert codes[3:] == [429] * 17
    refusal = answers[-1].json()
    assert refusal["errcode"] == "M_LIMIT_EXCEEDED" and refusal["error"] == MAILBOX_LIMITED
    assert refusal["retry_after_ms"] > 0 and "Retry-After" in answers[-1].headers
    deadline = time.monotonic() + 30
    while recipients(onboarding_server.mail_dir).count(address) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    assert recipients(onboarding_server.mail_dir).count(address) == 3, "the mailbox gets the three mails it was allowed, no more"


def test_three_hundred_colleagues_behind_one_office_address_all_get_their_mail(onboarding_server: GovChatServer) -> None:
    batch = uuid.uuid4().hex[:6]
    addresses = [f"pegawai{number}.{batch}@moe.gov.my" for number in range(OFFICE_COLLEAGUES)]
    started = time.monotonic()
    refused = [(address, answer.status_code, answer.text) for address in addresses if (answer := request_token(onboarding_server, address)).status_code != 200]
    assert refused == [], refused[:3]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        missing = set(addresses) - set(recipients(onboarding_server.mail_dir))
        if not missing:
            break
        time.sleep(1)
    assert not missing, f"{len(missing)} colleagues got no mail"
    assert time.monotonic() - started < 300, "the whole office asked within a few minutes"
