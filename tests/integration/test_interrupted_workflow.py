"""A workflow step interrupted by `kill -9` of Synapse is completed exactly once after the restart (issue 13).

Approving a channel application creates the room, publishes it, joins the owner and only
then marks the application carried out. The test leaves the state that a `kill -9` between
creating the channel and marking leaves (the application approved with nothing after the
approval in its trail, the channel there with its owner named but not joined), kills
Synapse's main process with SIGKILL and starts GovChat again: the periodic job finishes the
same channel (no second one), joins its owner and marks the application carried out once.
Runs on both layouts.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from govchat import schema
from synapse_modules.applications.service import INTERRUPTED_AFTER_MS
from tests.conftest import TEST_SETTINGS
from tests.harness import GovChatServer, User
from tests.integration.applications_helpers import act, audit_actions, fetch, make_head, official_user, submitted

CHANNELS = "/_synapse/client/govchat/v1/channels"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    settings = {**TEST_SETTINGS, "applications": {"check_interval_seconds": 1}, "bot": {"enabled": False}}
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-interrupted"), settings=settings).running() as running:
        yield running


def sql(server: GovChatServer, statement: str, values: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    database = yaml.safe_load(server.homeserver_config.read_text())["database"]
    connection, dialect = schema.connect(database)
    if dialect == "postgresql":
        statement = statement.replace("?", "%s")
    try:
        cursor = connection.cursor()
        cursor.execute(statement, values)
        rows = list(cursor.fetchall()) if cursor.description else []
        connection.commit()
        return rows
    finally:
        connection.close()


def synapse_main_pid(server: GovChatServer) -> int:
    config = str(server.homeserver_config)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if config in args and not any("/workers/" in arg for arg in args):
            return int(entry.name)
    raise AssertionError("Synapse's main process not found")


def kill_synapse_and_restart(server: GovChatServer) -> None:
    os.kill(synapse_main_pid(server), signal.SIGKILL)
    assert server.process is not None
    try:
        server.process.wait(timeout=90)  # the launcher stops the rest when the main process dies
    except Exception:
        server.stop()
    server.process = None
    server.start()
    # A job the dead process was running keeps its lease until it expires (15 min for this job);
    # the test does not wait for that.
    sql(server, "DELETE FROM govchat_job_leases WHERE job = 'applications_due_work'")


def joined(server: GovChatServer, user: User, room_id: str) -> bool:
    return room_id in server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"]


def test_channel_creation_interrupted_by_kill_9_completes_exactly_once_after_restart(server: GovChatServer) -> None:
    admin = server.register_admin()
    head, applicant, owner = make_head(server, admin), official_user(server), official_user(server)
    alias = f"terganggu-{uuid.uuid4().hex[:6]}"
    name = f"Saluran Terganggu {alias}"
    details = {"channel_name": name, "channel_alias": alias, "owner_name": "Encik Pemilik", "owner_email": owner.email}
    application_id = submitted(server, applicant, "public_channel", details)
    act(server, head, application_id, "endorse")
    done = act(server, admin, application_id, "approve").json()
    room_id = done["result"]["room_id"]

    # What a kill -9 after creating the channel, before the owner's join and the mark, leaves.
    assert server.client_api("POST", f"/rooms/{quote(room_id)}/leave", owner.access_token, json={}).status_code == 200
    approval = max(row[0] for row in sql(server, "SELECT seq FROM govchat_application_audit WHERE application_id = ? AND action = 'approved'", (application_id,)))
    sql(server, "DELETE FROM govchat_application_audit WHERE application_id = ? AND seq > ?", (application_id, approval))
    sql(server, "UPDATE govchat_applications SET state = 'approved', result = ? WHERE application_id = ?", (json.dumps({}), application_id))
    kill_synapse_and_restart(server)
    assert not joined(server, owner, room_id)

    admin_token = server.login(admin.user_id, admin.password).json()["access_token"]
    deadline = time.monotonic() + INTERRUPTED_AFTER_MS / 1000 + 90
    while fetch(server, User(admin.user_id, admin.password, admin_token), application_id).json()["state"] != "carried_out":
        assert time.monotonic() < deadline, "the interrupted step was never completed"
        time.sleep(1)
    time.sleep(3)  # a second, wrong completion would show within a few runs of the job

    after = fetch(server, User(admin.user_id, admin.password, admin_token), application_id).json()
    assert audit_actions(after).count("carried_out") == 1
    assert after["result"]["room_id"] == room_id and after["result"]["owner"] == owner.user_id
    channels = server.request("GET", CHANNELS, admin_token).json()["channels"]
    assert [channel["room_id"] for channel in channels if channel["name"] == name] == [room_id], "no second channel"
    assert next(channel for channel in channels if channel["room_id"] == room_id)["owners"] == [owner.user_id]
    assert joined(server, owner, room_id), "no channel without its owner"
