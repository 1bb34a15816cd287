"""Synapse's worker layout: routing, rules on every process, and processes that die (R8.1, R8.3).

These run in the worker pass of `make test` (GOVCHAT_TEST_LAYOUT=workers), where
the session's homeserver is already the worker layout; the fault tests get a
server of their own, since they kill its processes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from govchat.launcher import UnixHTTPConnection
from govchat.layout import target_for
from tests.harness import LAYOUT, GovChatServer, User
from tests.integration.test_public_channels import CHANNELS_API, in_info

pytestmark = pytest.mark.skipif(LAYOUT != "workers", reason="worker layout only (GOVCHAT_TEST_LAYOUT=workers)")


# --- talking to one process directly ---------------------------------------------------


def process_request(server: GovChatServer, name: str, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, dict[str, Any]]:
    """A request to one Synapse process's own socket, bypassing the proxy."""
    connection = UnixHTTPConnection(server.data_dir / "run" / f"{name}.sock", timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        answer = connection.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else {}
    finally:
        connection.close()


def process_pids(server: GovChatServer) -> dict[str, int]:
    """Each Synapse process's PID, by name (main, stream_writer, client1, ...), from the launcher's children."""
    assert server.process is not None
    pids: dict[str, int] = {}
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    for pid in children:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        words = [word.decode() for word in command if word]
        if "synapse.app.homeserver" in words:
            pids["main"] = int(pid)
        elif "synapse.app.generic_worker" in words:
            pids[Path(words[-1]).stem] = int(pid)
        elif any(word.endswith("/postgres") for word in words):
            pids["postgresql"] = int(pid)
        elif any("redis-server" in word for word in words):  # Redis rewrites its own command line
            pids["redis"] = int(pid)
    return pids


def wait_for(condition: Any, timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not met within {timeout} s")


def message_round_trip(server: GovChatServer, sender: User, reader: User, room_id: str, timeout: float = 60) -> None:
    """A message sent through the proxy reaches the reader's /sync."""
    body = f"round trip {uuid.uuid4().hex}"

    def sent() -> bool:
        answer = server.client_api("PUT", f"/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}", sender.access_token, json={"msgtype": "m.text", "body": body})
        return answer.status_code == 200

    wait_for(sent, timeout, "a message could be sent")

    def seen() -> bool:
        # Synapse answers a repeated identical /sync from a 2-minute cache: an inline filter
        # unique to each poll makes every request new.
        nocache = json.dumps({"presence": {"not_types": [f"govchat.test.poll.{uuid.uuid4().hex}"]}})
        answer = server.client_api("GET", f"/sync?timeout=0&filter={quote(nocache)}", reader.access_token)
        return answer.status_code == 200 and body in answer.text

    wait_for(seen, timeout, "the message reached the reader's sync")


def private_room(server: GovChatServer, owner: User, guest: User) -> str:
    room_id = server.client_api("POST", "/createRoom", owner.access_token, json={"preset": "private_chat", "invite": [guest.user_id]}).json()["room_id"]
    assert server.client_api("POST", f"/rooms/{room_id}/join", guest.access_token, json={}).status_code == 200
    return str(room_id)


# --- routing -----------------------------------------------------------------------------


def logged_by(server: GovChatServer, marker: str) -> set[str]:
    """Which processes' logs mention `marker` (Synapse logs every request it serves)."""
    found = set()
    for path in server.data_dir.glob("*.log"):
        name = "main" if path.stem == "homeserver" else path.stem
        if marker in path.read_text(errors="replace"):
            found.add(name)
    return found


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_matrix/client/v3/sync?timeout=0"),
        ("GET", "/_matrix/client/v3/account/whoami"),
        ("GET", "/_matrix/client/v3/joined_rooms"),
        ("GET", "/_matrix/client/v3/pushrules/"),
        ("GET", "/_matrix/client/v3/user/{user}/account_data/m.direct"),
        ("GET", "/_matrix/client/v1/media/config"),
        ("GET", "/_synapse/client/govchat/v1/channels"),
        ("GET", "/_synapse/admin/v2/users/{user}"),
    ],
)
def test_the_proxy_sends_each_request_to_the_process_the_routing_table_names(govchat: GovChatServer, admin: User, method: str, path: str) -> None:
    marker = f"probe{uuid.uuid4().hex}"
    path = path.replace("{user}", quote(admin.user_id))
    separator = "&" if "?" in path else "?"
    server_path = f"{path}{separator}govchat_probe={marker}"
    answer = govchat.request(method, server_path, admin.access_token)
    assert answer.status_code in (200, 404), answer.text  # 404: account data not set yet
    target = target_for(path.split("?")[0])
    expected = {"client_sync": "client", "client_room": "client"}.get(target, target)
    processes = wait_for(lambda: logged_by(govchat, marker), 10, f"a log line for {path}")
    assert len(processes) == 1, processes
    (process,) = processes
    assert process.startswith(expected), f"{path} went to {process}, the table says {target}"


def test_replication_is_never_reachable_through_the_proxy(govchat: GovChatServer) -> None:
    assert govchat.request("GET", "/_synapse/replication/get_repl_stream_updates/events").status_code == 404


# --- rules on every process ----------------------------------------------------------------


def test_a_member_post_in_info_is_refused_by_every_client_worker(govchat: GovChatServer, admin: User) -> None:
    member = govchat.register_with_email(f"pekerja.{uuid.uuid4().hex[:6]}@jpa.gov.my")
    info = in_info(govchat, member)
    for worker in ("client1", "client2", "main"):
        status, body = process_request(
            govchat, worker, "PUT", f"/_matrix/client/v3/rooms/{quote(info)}/send/m.room.message/{uuid.uuid4().hex}",
            member.access_token, {"msgtype": "m.text", "body": f"bukan pemilik ({worker})"},
        )
        assert status == 403 and body["errcode"] == "M_FORBIDDEN", (worker, status, body)


def test_a_non_administrator_cannot_create_a_public_room_on_any_client_worker(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    for worker in ("client1", "client2"):
        status, body = process_request(govchat, worker, "POST", "/_matrix/client/v3/createRoom", user.access_token, {"preset": "public_chat"})
        assert status == 403 and body["errcode"] == "M_FORBIDDEN", (worker, status, body)


def test_the_admin_api_on_main_cannot_give_a_member_the_channel_voice(govchat: GovChatServer, admin: User) -> None:
    """make_room_admin (main process, puppeting the channel's creator) must not turn a reader into a poster."""
    owner, member = govchat.register_plain_user(), govchat.register_plain_user()
    channel = govchat.request("POST", CHANNELS_API, admin.access_token, json={"name": "Saluran Ujian", "alias": f"ujian-{uuid.uuid4().hex[:8]}", "owners": [owner.user_id]}).json()
    room_id = channel["room_id"]
    assert govchat.client_api("POST", f"/join/{quote(room_id)}", member.access_token, json={}).status_code == 200
    # Synapse lets it through (the creator's power-levels change is allowed);
    # the channel's owners are its marker's, so the post stays refused everywhere.
    govchat.request("POST", f"/_synapse/admin/v1/rooms/{quote(room_id)}/make_room_admin", admin.access_token, json={"user_id": member.user_id})
    for worker in ("client1", "client2"):
        status, body = process_request(
            govchat, worker, "PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}",
            member.access_token, {"msgtype": "m.text", "body": "saya pentadbir"},
        )
        assert status == 403, (worker, status, body)


# --- processes that die ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    settings = {"bot": {"enabled": False}, "workers": {"client": 2}, "database": {"engine": "postgresql"}}
    with GovChatServer(data_dir=tmp_path_factory.mktemp("faults"), settings=settings).running() as server:
        yield server


def test_a_client_worker_killed_right_after_a_registration_loses_no_info_join(faults: GovChatServer) -> None:
    admin = faults.register_admin()
    user = faults.register_with_email(f"mangsa.{uuid.uuid4().hex[:6]}@moe.gov.my")
    pids = process_pids(faults)
    for worker in ("client1", "client2"):
        os.kill(pids[worker], signal.SIGKILL)
    in_info(faults, user, timeout=60)
    # The launcher restarts both; meanwhile and afterwards the service answers.
    wait_for(lambda: {"client1", "client2"} <= set(process_pids(faults)) and all(process_pids(faults)[w] != pids[w] for w in ("client1", "client2")), 60, "both client workers restarted")
    guest = faults.register_plain_user()
    message_round_trip(faults, admin, guest, private_room(faults, admin, guest))


def test_restarting_the_stream_writer_mid_send_loses_and_duplicates_nothing(faults: GovChatServer) -> None:
    sender, reader = faults.register_plain_user(), faults.register_plain_user()
    room_id = private_room(faults, sender, reader)
    bodies = [f"mesej {n} {uuid.uuid4().hex[:6]}" for n in range(30)]
    failures: list[str] = []

    def send_all() -> None:
        for body in bodies:
            txn = uuid.uuid5(uuid.NAMESPACE_URL, body).hex  # a client retries with the same transaction ID
            deadline = time.monotonic() + 90
            while True:
                try:
                    answer = faults.client_api("PUT", f"/rooms/{room_id}/send/m.room.message/{txn}", sender.access_token, json={"msgtype": "m.text", "body": body})
                    if answer.status_code == 200:
                        break
                except Exception:
                    pass
                if time.monotonic() > deadline:
                    failures.append(body)
                    break
                time.sleep(0.3)

    sending = threading.Thread(target=send_all)
    sending.start()
    time.sleep(1.0)
    os.kill(process_pids(faults)["stream_writer"], signal.SIGKILL)
    sending.join(timeout=240)
    assert not failures, f"never delivered: {failures}"
    answer = faults.client_api("GET", f"/rooms/{room_id}/messages?dir=b&limit=200", reader.access_token)
    assert answer.status_code == 200, answer.text
    seen = [event["content"].get("body") for event in answer.json()["chunk"] if event["type"] == "m.room.message"]
    for body in bodies:
        assert seen.count(body) == 1, f"{body!r} appears {seen.count(body)} times"


@pytest.mark.parametrize("service", ["redis", "postgresql"])
def test_every_process_recovers_after_a_restart_of(faults: GovChatServer, service: str) -> None:
    sender, reader = faults.register_plain_user(), faults.register_plain_user()
    room_id = private_room(faults, sender, reader)
    before = process_pids(faults)[service]
    # SIGTERM: Redis exits; PostgreSQL does a smart shutdown once its clients go, so use its fast one.
    os.kill(before, signal.SIGINT if service == "postgresql" else signal.SIGTERM)
    wait_for(lambda: process_pids(faults).get(service) not in (None, before), 60, f"{service} restarted")
    wait_for(lambda: faults.request("GET", "/health").status_code == 200, 60, "/health")
    message_round_trip(faults, sender, reader, room_id, timeout=90)
    # A client worker too serves a request that needs the database.
    for worker in ("client1", "client2"):
        wait_for(lambda w=worker: process_request(faults, w, "GET", "/_matrix/client/v3/account/whoami", reader.access_token)[0] == 200, 60, f"{worker} answers")


def test_the_gcmeet_limit_holds_once_across_both_client_workers(govchat: GovChatServer) -> None:
    """Burst 10 per user (the default): two client workers together still give 10, not 20."""
    owner, guest = govchat.register_plain_user(), govchat.register_plain_user()
    room_id = private_room(govchat, owner, guest)
    answers = []
    for attempt in range(24):
        worker = ("client1", "client2")[attempt % 2]
        status, _ = process_request(govchat, worker, "POST", "/_synapse/client/govchat/v1/gcmeet/token", guest.access_token, {"room_id": room_id})
        answers.append((worker, status))
    granted = [worker for worker, status in answers if status == 200]
    assert {status for _, status in answers} <= {200, 429}
    # 10 from the burst, plus at most a couple refilled at 30 a minute while the loop ran.
    assert 10 <= len(granted) <= 12, answers
    assert {"client1", "client2"} <= set(granted)


def test_every_process_serves_its_own_metrics(govchat: GovChatServer) -> None:
    import requests

    ports = govchat.synapse_metrics_ports()
    assert len(ports) == 6  # main, stream writer, two client workers, background, media
    for port in ports:
        answer = requests.get(f"http://127.0.0.1:{port}/_synapse/metrics", timeout=30)
        assert answer.status_code == 200 and "synapse_build_info" in answer.text
    scraped = yaml.safe_load((govchat.data_dir / "prometheus.yml").read_text())["scrape_configs"][0]["static_configs"]
    assert sorted(int(entry["targets"][0].rsplit(":", 1)[1]) for entry in scraped) == sorted(ports)
