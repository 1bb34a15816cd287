"""Prometheus metrics: Synapse's own and GovChat's, on loopback listeners (R8.3)."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import quote

import requests

from tests.harness import REPO_ROOT, GovChatServer, User


def metric_value(text: str, name: str, **labels: str) -> float:
    """One labelled series summed over every process's metrics; 0 when it does not exist yet.

    Only series whose labels are exactly `labels` count (plus Prometheus' own
    `instance`/`job`, which the text format here does not carry).
    """
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if found == labels:
            total += float(line.rsplit(" ", 1)[1])
    return total


def synapse_metrics(govchat: GovChatServer) -> str:
    """Every Synapse process's metrics, one after the other (counters add up across them)."""
    texts = []
    for port in govchat.synapse_metrics_ports():
        answer = requests.get(f"http://127.0.0.1:{port}/_synapse/metrics", timeout=30)
        assert answer.status_code == 200
        texts.append(answer.text)
    return "\n".join(texts)


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


def bot_metrics(govchat: GovChatServer) -> str:
    """The bot's metrics, once its process (started after Synapse) listens."""
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = requests.get(f"http://127.0.0.1:{govchat.bot_metrics_port}/metrics", timeout=5)
            assert answer.status_code == 200
            return answer.text
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_bot_serves_its_own_counters(govchat: GovChatServer) -> None:
    assert "govchat_bot_questions_total" in bot_metrics(govchat)


def test_refusals_of_the_server_rules_are_counted(govchat: GovChatServer, admin: User) -> None:
    author, other = govchat.register_plain_user(), govchat.register_plain_user()
    room_id = govchat.client_api("POST", "/createRoom", author.access_token, json={"preset": "private_chat", "invite": [other.user_id]}).json()["room_id"]
    govchat.client_api("POST", f"/rooms/{room_id}/join", other.access_token, json={})
    original = govchat.client_api("PUT", f"/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}", author.access_token,
                                  json={"msgtype": "m.text", "body": "asal"}).json()["event_id"]
    info_room = govchat.client_api("GET", f"/directory/room/{quote('#info:' + govchat.server_name)}").json()["room_id"]
    before = synapse_metrics(govchat)

    foreign_edit = {"msgtype": "m.text", "body": "* ubah", "m.new_content": {"msgtype": "m.text", "body": "ubah"},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": original}}
    assert govchat.client_api("PUT", f"/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}", other.access_token, json=foreign_edit).status_code == 403
    govchat.client_api("POST", f"/rooms/{info_room}/join", other.access_token, json={})
    assert govchat.client_api("PUT", f"/rooms/{info_room}/send/m.room.message/{uuid.uuid4().hex}", other.access_token,
                              json={"msgtype": "m.text", "body": "bukan pemilik"}).status_code == 403
    assert govchat.request("POST", "/_synapse/client/govchat/v1/gcmeet/token", other.access_token, json={"room_id": info_room + "x"}).status_code == 403

    after = synapse_metrics(govchat)
    assert total(after, "govchat_edit_window_refusals_total", action="edit") == total(before, "govchat_edit_window_refusals_total", action="edit") + 1
    assert total(after, "govchat_channel_refusals_total", action="event") == total(before, "govchat_channel_refusals_total", action="event") + 1
    assert total(after, "govchat_gcmeet_tokens_refused_total") == total(before, "govchat_gcmeet_tokens_refused_total") + 1


def total(text: str, name: str, **labels: str) -> float:
    """The sum over every series of a counter that carries these labels."""
    summed = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(key) == value for key, value in labels.items()):
                summed += float(line.rsplit(" ", 1)[1])
    return summed


def test_every_govchat_metric_on_the_grafana_dashboard_is_exported(govchat: GovChatServer) -> None:
    dashboard = json.loads((REPO_ROOT / "config" / "grafana-dashboard.json").read_text())
    wanted = {name for panel in dashboard["panels"] for target in panel["targets"] for name in re.findall(r"\bgovchat_\w+", target["expr"])}
    exported = synapse_metrics(govchat) + bot_metrics(govchat)
    missing = {name for name in wanted if f"# TYPE {name.removesuffix('_total')}" not in exported and f"# TYPE {name} " not in exported}
    assert not missing
