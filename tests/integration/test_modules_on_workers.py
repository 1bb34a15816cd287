"""GovChat's modules on Synapse's worker layout in miniature: a main process and one generic
worker (which also runs the background tasks) sharing a throw-away PostgreSQL and a Redis.
Every module loads on the worker; a GCMeet limit holds once across both processes; notices
and deactivations queued anywhere are delivered by the main process; periodic jobs run once
per interval. (The full layout, with its proxy and launcher, has its own tests.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from govchat import schema
from govchat.launcher import upgrade_schema
from govchat.render import render_synapse_config
from govchat.settings import load_settings
from tests.harness import TEST_SYNAPSE_OVERRIDES, free_port
from tests.postgres_cluster import postgresql_bin_dir, throwaway_postgresql

pytestmark = pytest.mark.integration

PASSWORD = "Kata-laluan-1234"
CHECK_INTERVAL_SECONDS = 1


@dataclass
class Layout:
    main_url: str
    worker_url: str
    database: dict[str, Any]
    shared_secret: str
    data_dir: Path

    def register(self, localpart: str, admin: bool = False) -> dict[str, Any]:
        nonce = requests.get(f"{self.main_url}/_synapse/admin/v1/register", timeout=30).json()["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), PASSWORD.encode(), b"admin" if admin else b"notadmin"]))
        body = {"nonce": nonce, "username": localpart, "password": PASSWORD, "admin": admin, "mac": mac.hexdigest()}
        answer = requests.post(f"{self.main_url}/_synapse/admin/v1/register", json=body, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    def sql(self, statement: str, values: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection, _ = schema.connect(self.database)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(statement, values)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            connection.close()


def _healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {log.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not healthy in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layout]:
    if postgresql_bin_dir() is None or shutil.which("redis-server") is None:
        pytest.skip("needs PostgreSQL's server and redis-server (apt-get install -y postgresql redis-server)")
    data_dir = tmp_path_factory.mktemp("govchat-workers")
    port, worker_port, replication_port, redis_port = free_port(), free_port(), free_port(), free_port()
    settings = {"bot": {"enabled": False}, "metrics": {"enabled": False}, "email": {"local_smtp_port": free_port()},
                "applications": {"check_interval_seconds": CHECK_INTERVAL_SECONDS}, "synapse_extra": TEST_SYNAPSE_OVERRIDES}
    (data_dir / "govchat.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    processes: list[subprocess.Popen[bytes]] = []
    with throwaway_postgresql("govchat_workers") as database:
        assert database is not None
        try:
            processes.append(subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            ))
            homeserver = render_synapse_config(load_settings(data_dir, port)).homeserver_config
            config = yaml.safe_load(homeserver.read_text(encoding="utf-8"))
            config.update({
                "database": database,
                "redis": {"enabled": True, "host": "127.0.0.1", "port": redis_port},
                "instance_map": {"main": {"host": "127.0.0.1", "port": replication_port}},
                "run_background_tasks_on": "client1",
            })
            config["listeners"].append(
                {"port": replication_port, "bind_addresses": ["127.0.0.1"], "type": "http", "resources": [{"names": ["replication"]}]}
            )
            homeserver.write_text(yaml.safe_dump(config), encoding="utf-8")
            upgrade_schema(homeserver)
            worker_config = data_dir / "client1.yaml"
            worker_config.write_text(yaml.safe_dump({
                "worker_app": "synapse.app.generic_worker",
                "worker_name": "client1",
                "worker_log_config": str(data_dir / "log.yaml"),
                "worker_listeners": [
                    {"type": "http", "port": worker_port, "bind_addresses": ["127.0.0.1"], "resources": [{"names": ["client"]}]}
                ],
            }), encoding="utf-8")
            main_log, worker_log = data_dir / "main.out", data_dir / "worker.out"
            with open(main_log, "wb") as log:
                main = subprocess.Popen([sys.executable, "-m", "synapse.app.homeserver", "-c", str(homeserver)],
                                        cwd=data_dir, stdout=log, stderr=subprocess.STDOUT)
            processes.append(main)
            _healthy(f"http://127.0.0.1:{port}", main, main_log)
            with open(worker_log, "wb") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "synapse.app.generic_worker", "-c", str(homeserver), "-c", str(worker_config)],
                    cwd=data_dir, stdout=log, stderr=subprocess.STDOUT,
                )
            processes.append(worker)
            _healthy(f"http://127.0.0.1:{worker_port}", worker, worker_log)
            secret = yaml.safe_load((data_dir / "secrets.yaml").read_text())["registration_shared_secret"]
            yield Layout(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{worker_port}", database, secret, data_dir)
        finally:
            for process in reversed(processes):
                _stop(process)


def bearer(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['access_token']}"}


def test_gcmeet_limit_holds_once_across_main_and_worker(layout: Layout) -> None:
    user = layout.register("siti")
    room = requests.post(f"{layout.worker_url}/_matrix/client/v3/createRoom", headers=bearer(user), json={}, timeout=30).json()
    codes = []
    for attempt in range(12):  # default burst 10, alternating processes
        base = layout.worker_url if attempt % 2 else layout.main_url
        answer = requests.post(f"{base}/_synapse/client/govchat/v1/gcmeet/token", headers=bearer(user), json={"room_id": room["room_id"]}, timeout=30)
        codes.append(answer.status_code)
    assert codes == [200] * 10 + [429, 429]


def test_gcmeet_accepts_an_openid_token_on_the_worker(layout: Layout) -> None:
    user = layout.register("ali")
    room = requests.post(f"{layout.worker_url}/_matrix/client/v3/createRoom", headers=bearer(user), json={}, timeout=30).json()
    openid = requests.post(
        f"{layout.main_url}/_matrix/client/v3/user/{user['user_id']}/openid/request_token", headers=bearer(user), json={}, timeout=30
    ).json()
    body = {"room_id": room["room_id"], "openid_token": {"access_token": openid["access_token"], "matrix_server_name": "govchat.localhost"}}
    assert requests.post(f"{layout.worker_url}/_synapse/client/govchat/v1/gcmeet/token", json=body, timeout=30).status_code == 200
    body["openid_token"]["access_token"] = "bukan-token"
    assert requests.post(f"{layout.worker_url}/_synapse/client/govchat/v1/gcmeet/token", json=body, timeout=30).status_code == 401


def test_a_notice_queued_anywhere_is_delivered_once_by_the_main_process(layout: Layout) -> None:
    user = layout.register("aminah")
    payload = json.dumps({"user_id": user["user_id"], "body": "Notis ujian / Test notice"})
    layout.sql(
        "INSERT INTO govchat_outbox (id, kind, payload, created_ts, attempts, next_attempt_ts) VALUES ('t1', 'notice', %s, 1, 0, 1)",
        (payload,),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not layout.sql("SELECT delivered_ts FROM govchat_outbox WHERE id = 't1'")[0][0]:
        time.sleep(0.3)
    assert layout.sql("SELECT attempts, last_error FROM govchat_outbox WHERE id = 't1'") == [(1, None)]
    sync = requests.get(f"{layout.worker_url}/_matrix/client/v3/sync?timeout=0", headers=bearer(user), timeout=30).json()
    assert sync.get("rooms", {}).get("invite"), "the server-notices room invited the user"


def test_registration_joins_info_through_the_queue(layout: Layout) -> None:
    user = layout.register("hafiz")
    info = requests.get(f"{layout.worker_url}/_matrix/client/v3/directory/room/%23info%3Agovchat.localhost", timeout=30).json()["room_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        joined = requests.get(f"{layout.worker_url}/_matrix/client/v3/joined_rooms", headers=bearer(user), timeout=30).json()["joined_rooms"]
        if info in joined and not layout.sql("SELECT 1 FROM govchat_info_joins WHERE user_id = %s", (user["user_id"],)):
            return
        time.sleep(0.3)
    raise AssertionError(f"{user['user_id']} not in INFO, or still queued")


def test_a_deactivation_queued_on_a_worker_is_carried_out_by_the_main_process(layout: Layout) -> None:
    user = layout.register("leaver")
    payload = json.dumps({"user_id": user["user_id"], "by": user["user_id"]})
    layout.sql(
        "INSERT INTO govchat_outbox (id, kind, payload, created_ts, attempts, next_attempt_ts) VALUES ('d1', 'deactivate', %s, 1, 0, 1)",
        (payload,),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not layout.sql("SELECT delivered_ts FROM govchat_outbox WHERE id = 'd1'")[0][0]:
        time.sleep(0.3)
    assert layout.sql("SELECT deactivated FROM users WHERE name = %s", (user["user_id"],)) == [(1,)]


def test_the_periodic_job_runs_once_per_interval_on_the_background_worker(layout: Layout) -> None:
    def runs() -> tuple[int, str]:
        rows = layout.sql("SELECT runs, last_holder FROM govchat_job_runs WHERE job = 'applications_due_work'")
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, "")

    deadline = time.monotonic() + 30
    while runs()[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    before, started = runs()[0], time.monotonic()
    time.sleep(5)
    counted, holder = runs()[0] - before, runs()[1]
    assert 1 <= counted <= (time.monotonic() - started) / CHECK_INTERVAL_SECONDS + 1
    assert holder.startswith("client1/"), "only the background-tasks worker runs it"
