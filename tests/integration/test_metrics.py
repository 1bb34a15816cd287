"""Prometheus metrics: Synapse's own and GovChat's, on loopback listeners (R8.3)."""

from __future__ import annotations

import re
import time
import uuid

import requests

from tests.harness import GovChatServer


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the labelled series does not exist yet."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def synapse_metrics(govchat: GovChatServer) -> str:
    answer = requests.get(f"http://127.0.0.1:{govchat.metrics_port}/_synapse/metrics", timeout=30)
    assert answer.status_code == 200
    return answer.text


def test_metrics_listener_serves_synapse_and_govchat_registration_counters(govchat: GovChatServer) -> None:
    before = synapse_metrics(govchat)
    assert "synapse_http_server_requests_received_total" in before or "synapse_build_info" in before
    refused_before = metric_value(before, "govchat_registration_email_checks_total", outcome="refused", reason="not_government")
    body = {"email": f"x{uuid.uuid4().hex[:6]}@gmail.com", "client_secret": uuid.uuid4().hex, "send_attempt": 1}
    assert govchat.client_api("POST", "/register/email/requestToken", json=body).status_code == 403
    registered_before = metric_value(before, "govchat_registrations_total", agency="jpa.gov.my")
    govchat.register_with_email(f"metrik.{uuid.uuid4().hex[:6]}@jpa.gov.my")

    after = synapse_metrics(govchat)
    assert metric_value(after, "govchat_registration_email_checks_total", outcome="refused", reason="not_government") == refused_before + 1
    assert metric_value(after, "govchat_registrations_total", agency="jpa.gov.my") == registered_before + 1


def test_metrics_are_not_served_on_the_client_port(govchat: GovChatServer) -> None:
    assert govchat.request("GET", "/_synapse/metrics").status_code == 404


def test_bot_serves_its_own_counters(govchat: GovChatServer) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = requests.get(f"http://127.0.0.1:{govchat.bot_metrics_port}/metrics", timeout=5)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert answer.status_code == 200
    assert "govchat_bot_questions_total" in answer.text
