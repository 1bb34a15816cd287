"""Simulated GovChat staff for the load test (bench/load_test.py), as Locust users speaking plain HTTP.

Each staff member logs in with a password, keeps a /sync long-poll loop going (30 s timeout, since token) in a
greenlet of its own, and, paced so that all of them together offer the step's message rate, picks one action at a
time by weight (MIX): an end-to-end encrypted message in one of its direct or group rooms (`m.room.encrypted`
shaped like Megolm; the first message in a room also shares the room key to the members' devices as an Olm
to-device message, as Element does), a read receipt for the newest message its /sync delivered, a page of INFO's
history, or a GCMeet token (an OpenID token posted to GovChat's GCMeet endpoint). One INFO owner posts to INFO
every OWNER_POST_SECONDS. Nothing here is encrypted for real: the server only stores and forwards ciphertext, so its
shape and size are what load it.
"""

from __future__ import annotations

import base64
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import gevent
from locust import FastHttpUser, task

from bench.scale_out_bench import LAZY_SYNC_FILTER

SYNC_TIMEOUT_MS = 30_000
NETWORK_TIMEOUT_SECONDS = 60.0  # above the long-poll, so only a stuck server times a /sync out
RETRY_AFTER_FAILURE_SECONDS = 1.0
OWNER_POST_SECONDS = 20.0
INFO_PAGE = 20
MAX_BACKLOG_SECONDS = 1.0
WAKE_SECONDS = 0.5  # a person further behind drops the missed actions rather than bursting to catch up
GCMEET_TOKEN_PATH = "/_synapse/client/govchat/v1/gcmeet/token"

# What a simulated person does per paced action (StaffMember methods), by weight. Sends are MESSAGE_SHARE of all actions.
MIX = {"send_direct": 35, "send_group": 35, "read_receipt": 20, "read_info": 8, "gcmeet_token": 2}
MESSAGE_SHARE = (MIX["send_direct"] + MIX["send_group"]) / sum(MIX.values())

# Names the report groups requests by.
SEND_DIRECT = "send direct (m.room.encrypted)"
SEND_GROUP = "send group (m.room.encrypted)"
SEND_NAMES = (SEND_DIRECT, SEND_GROUP)
SYNC = "/sync long-poll"
DELIVERY = "send -> member's /sync"
INFO_DELIVERY = "INFO post -> member's /sync"
LATENESS = "action started late by"  # not a request: pacing, recorded per action


@dataclass(frozen=True)
class Account:
    """Who a simulated person logs in as, and the rooms it writes in (the INFO owner writes only in INFO)."""

    user_id: str
    password: str
    direct_rooms: tuple[str, ...] = ()  # with the next and the previous colleague
    group_rooms: tuple[str, ...] = ()  # its unit of GROUP_SIZE


@dataclass
class LoadPlan:
    """What the orchestrator hands the simulated users, and what they report back (one process, one gevent hub)."""

    staff: list[Account]
    owner: Account
    info_room_id: str
    members: dict[str, tuple[str, ...]]  # room ID -> its members' user IDs
    task_rate: float = 0.1  # paced actions per second per person; the orchestrator raises it step by step
    pace_changes: int = 0
    logged_in: int = 0
    sent: dict[str, float] = field(default_factory=dict)  # ciphertext or body prefix -> when its send started
    record: Callable[[str, float, bool], None] = lambda name, seconds, ok: None
    sync_loops: list[gevent.Greenlet] = field(default_factory=list)

    def pace(self, task_rate: float) -> None:
        self.task_rate, self.pace_changes = task_rate, self.pace_changes + 1


PLAN: LoadPlan | None = None  # set by the orchestrator before the runner starts


def plan() -> LoadPlan:
    assert PLAN is not None, "bench.load_users.PLAN is set by bench.load_test"
    return PLAN


def unpadded_base64(size: int) -> str:
    """Random bytes as libolm writes them: base64 without padding."""
    return base64.b64encode(os.urandom(size)).decode().rstrip("=")


def megolm_content(device_id: str, sender_key: str, session_id: str) -> dict[str, Any]:
    """An `m.room.encrypted` body of a Megolm message: version, index, AES-CBC of a 100-600 byte plaintext event
    (padded to 16), an 8-byte MAC and a 64-byte Ed25519 signature."""
    plaintext = random.randint(100, 600)
    size = 1 + 2 + (plaintext // 16 + 1) * 16 + 8 + 64
    return {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": unpadded_base64(size), "sender_key": sender_key, "device_id": device_id, "session_id": session_id}


def olm_key_share(sender_key: str) -> dict[str, Any]:
    """An Olm-encrypted `m.room_key` to-device body (pre-key message, about 650 bytes of base64)."""
    return {"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": sender_key, "ciphertext": {unpadded_base64(32): {"type": 0, "body": unpadded_base64(480)}}}


def sent_key(text: str) -> str:
    return text[:24]


class MatrixUser(FastHttpUser):
    """Logs in, then follows its own /sync; subclasses add what they do."""

    abstract = True
    network_timeout = NETWORK_TIMEOUT_SECONDS
    connection_timeout = 10.0
    concurrency = 4  # the /sync greenlet and the actions share the user's connection pool
    account: Account
    newest_unread: tuple[str, str] | None = None  # (room ID, event ID) /sync delivered and no receipt went for yet
    token = ""
    device_id = ""
    since = ""

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def log_in(self, account: Account) -> None:
        self.account = account
        body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": account.user_id}, "password": account.password}
        answer = self.client.post("/_matrix/client/v3/login", json=body, name="login")
        answer.raise_for_status()
        self.token, self.device_id = answer.json()["access_token"], answer.json()["device_id"]
        first = self.client.get(f"/_matrix/client/v3/sync?filter={LAZY_SYNC_FILTER}&timeout=0", headers=self.auth(), name="/sync initial")
        first.raise_for_status()
        self.since = first.json()["next_batch"]
        plan().sync_loops.append(gevent.spawn(self.follow_sync))
        plan().logged_in += 1

    def follow_sync(self) -> None:
        while True:
            path = f"/_matrix/client/v3/sync?filter={LAZY_SYNC_FILTER}&timeout={SYNC_TIMEOUT_MS}&since={self.since}"
            answer = self.client.get(path, headers=self.auth(), name=SYNC)
            if answer.status_code != 200:  # Locust has counted the failure
                gevent.sleep(RETRY_AFTER_FAILURE_SECONDS)
                continue
            arrived = time.perf_counter()
            body = answer.json()
            self.since = body["next_batch"]
            for room_id, room in body.get("rooms", {}).get("join", {}).items():
                for event in room.get("timeline", {}).get("events", []):
                    self.delivered(room_id, event, arrived)

    def delivered(self, room_id: str, event: dict[str, Any], arrived: float) -> None:
        if event.get("sender") == self.account.user_id:
            return
        content = event.get("content", {})
        if event.get("type") == "m.room.encrypted":
            started = plan().sent.get(sent_key(str(content.get("ciphertext", ""))))
            name = DELIVERY
        elif room_id == plan().info_room_id and event.get("type") == "m.room.message":
            started = plan().sent.get(sent_key(str(content.get("body", ""))))
            name = INFO_DELIVERY
        else:
            return
        if started is not None:
            plan().record(name, arrived - started, True)
            self.newest_unread = (room_id, str(event.get("event_id")))


class StaffMember(MatrixUser):
    weight = 1

    next_action = 0.0
    pace_seen = -1

    def wait_time(self) -> float:
        # Short naps, so a new step's rate applies at once rather than after a gap drawn at the old rate.
        return min(max(0.0, self.next_action - time.monotonic()), WAKE_SECONDS)

    @task
    def act(self) -> None:
        """At Poisson-distributed moments at the step's rate (on a schedule of its own, so a slow answer does not
        lower the offered rate), one action chosen by MIX's weights; how late it started is recorded."""
        now = time.monotonic()
        if self.pace_seen != plan().pace_changes:  # a new rate: Poisson arrivals are memoryless, so draw afresh
            self.pace_seen = plan().pace_changes
            self.next_action = now + random.expovariate(plan().task_rate)
            return
        if now < self.next_action:
            return
        late = now - self.next_action
        plan().record(LATENESS, late, True)
        self.next_action = (now if late > MAX_BACKLOG_SECONDS else self.next_action) + random.expovariate(plan().task_rate)
        getattr(self, random.choices(list(MIX), weights=list(MIX.values()))[0])()

    def on_start(self) -> None:
        self.sender_key = unpadded_base64(32)
        self.sessions: dict[str, str] = {}  # room ID -> outbound Megolm session ID
        self.log_in(plan().staff.pop())

    def send_encrypted(self, room_id: str, name: str) -> None:
        if room_id not in self.sessions:
            self.sessions[room_id] = unpadded_base64(32)
            self.share_room_key(room_id)
        content = megolm_content(self.device_id, self.sender_key, self.sessions[room_id])
        plan().sent[sent_key(content["ciphertext"])] = time.perf_counter()
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.encrypted/{uuid.uuid4().hex}"
        self.client.put(path, json=content, headers=self.auth(), name=name)

    def share_room_key(self, room_id: str) -> None:
        others = [user for user in plan().members[room_id] if user != self.account.user_id]
        messages = {user: {"*": olm_key_share(self.sender_key)} for user in others}
        path = f"/_matrix/client/v3/sendToDevice/m.room.encrypted/{uuid.uuid4().hex}"
        self.client.put(path, json={"messages": messages}, headers=self.auth(), name="to-device room key")

    def send_direct(self) -> None:
        self.send_encrypted(random.choice(self.account.direct_rooms), SEND_DIRECT)

    def send_group(self) -> None:
        self.send_encrypted(random.choice(self.account.group_rooms), SEND_GROUP)

    def read_receipt(self) -> None:
        if self.newest_unread is None:
            return
        room_id, event_id = self.newest_unread
        self.newest_unread = None
        self.client.post(f"/_matrix/client/v3/rooms/{quote(room_id)}/receipt/m.read/{quote(event_id)}", json={}, headers=self.auth(), name="read receipt")

    def read_info(self) -> None:
        path = f"/_matrix/client/v3/rooms/{quote(plan().info_room_id)}/messages?dir=b&limit={INFO_PAGE}"
        self.client.get(path, headers=self.auth(), name="INFO /messages")

    def gcmeet_token(self) -> None:
        openid = self.client.post(f"/_matrix/client/v3/user/{quote(self.account.user_id)}/openid/request_token", json={}, headers=self.auth(), name="openid token")
        if openid.status_code == 200:
            body = {"room_id": random.choice(self.account.group_rooms), "openid_token": openid.json()}
            self.client.post(GCMEET_TOKEN_PATH, json=body, name="GCMeet token")


class InfoOwner(MatrixUser):
    fixed_count = 1

    def wait_time(self) -> float:
        return OWNER_POST_SECONDS

    def on_start(self) -> None:
        self.log_in(plan().owner)

    @task
    def post_to_info(self) -> None:
        body = f"Makluman {uuid.uuid4().hex}: mesyuarat bulanan dipinda ke hari Khamis."
        plan().sent[sent_key(body)] = time.perf_counter()
        path = f"/_matrix/client/v3/rooms/{quote(plan().info_room_id)}/send/m.room.message/{uuid.uuid4().hex}"
        self.client.put(path, json={"msgtype": "m.text", "body": body}, headers=self.auth(), name="INFO owner post")
