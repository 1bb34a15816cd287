"""Public channels: registration cost as INFO grows, and owner post to members' next sync.

Two homeservers on loopback, filled alike:
  * GovChat: the public_channels module joins each new user to INFO in the background;
  * stock:   the same GovChat config with `channels.enabled: false` and Synapse's native
             `auto_join_rooms: ["#info:..."]`, which joins inside the registration request.
Everything else (other GovChat modules) is identical, so the difference is the join.

For each INFO size it measures, `--samples` times: the registration request
(shared-secret admin API, nonce included), the time until the new user is in
INFO's joined members, and the time from an owner's post until a member's
waiting /sync returns it.

    .venv/bin/python -m bench.public_channels_bench [--sizes 100,1000,5000] [--samples 5]

Bounded: fills run with 8 threads on loopback; `--sizes` lets a slow machine stop earlier.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from tests.harness import GovChatServer, User

FILL_THREADS = 8
# Password hashing is not what is measured; keep it cheap on both servers.
FAST_HASHING = {"bcrypt_rounds": 4}


def govchat_server(data_dir: Path) -> GovChatServer:
    return GovChatServer(data_dir=data_dir, settings={"synapse_extra": dict(FAST_HASHING)})


def stock_server(data_dir: Path) -> GovChatServer:
    extra = {
        **FAST_HASHING,
        "auto_join_rooms": ["#info:govchat.localhost"],
        "autocreate_auto_join_rooms": True,
        "autocreate_auto_join_room_preset": "public_chat",
    }
    return GovChatServer(data_dir=data_dir, settings={"channels": {"enabled": False}, "synapse_extra": extra})


class Info:
    def __init__(self, server: GovChatServer, admin: User) -> None:
        self.server = server
        self.admin = admin
        self.room_id = ""

    def find(self) -> str:
        while not self.room_id:
            answer = self.server.client_api("GET", "/directory/room/" + quote("#info:govchat.localhost"))
            if answer.status_code == 200:
                self.room_id = answer.json()["room_id"]
            else:
                time.sleep(0.1)
        return self.room_id

    def members(self) -> set[str]:
        answer = self.server.request("GET", f"/_synapse/admin/v1/rooms/{self.find()}/members", self.admin.access_token)
        return set(answer.json()["members"])

    def wait_for(self, user_id: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while user_id not in self.members():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{user_id} not in INFO after {timeout} s")
            time.sleep(0.02)


def fill(server: GovChatServer, info: Info, size: int) -> None:
    missing = size - len(info.members())
    if missing <= 0:
        return
    with ThreadPoolExecutor(FILL_THREADS) as pool:
        list(pool.map(lambda _: server.register_plain_user(f"isi-{uuid.uuid4().hex[:12]}"), range(missing)))
    deadline = time.monotonic() + 1800
    while len(info.members()) < size and time.monotonic() < deadline:
        time.sleep(0.5)


def measure_registration(server: GovChatServer, info: Info) -> tuple[float, float]:
    started = time.perf_counter()
    user = server.register_plain_user(f"ukur-{uuid.uuid4().hex[:12]}")
    answered = time.perf_counter() - started
    info.wait_for(user.user_id)
    return answered, time.perf_counter() - started


def measure_post_to_sync(server: GovChatServer, owner: User, reader: User, room_id: str) -> float:
    since = server.client_api("GET", "/sync?timeout=0", reader.access_token).json()["next_batch"]
    body = f"makluman-{uuid.uuid4().hex}"
    result: dict[str, float] = {}

    def wait() -> None:
        token = since
        while "at" not in result:
            answer = server.client_api("GET", f"/sync?timeout=10000&since={token}", reader.access_token).json()
            token = answer["next_batch"]
            events = answer.get("rooms", {}).get("join", {}).get(room_id, {}).get("timeline", {}).get("events", [])
            if any(event.get("content", {}).get("body") == body for event in events):
                result["at"] = time.perf_counter()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # let the /sync settle into its long poll
    started = time.perf_counter()
    sent = server.client_api(
        "PUT", f"/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}", owner.access_token, json={"msgtype": "m.text", "body": body}
    )
    assert sent.status_code == 200, sent.text
    waiter.join(timeout=60)
    return result.get("at", float("nan")) - started


def run_server(kind: str, server: GovChatServer, sizes: list[int], samples: int) -> list[tuple[str, int, float, float, float]]:
    rows = []
    server.start()
    try:
        admin = server.register_admin()
        owner = server.register_plain_user("pemilik-info")  # stock: first user, creates INFO (power 100)
        info = Info(server, admin)
        info.wait_for(owner.user_id)
        if kind == "govchat":
            answer = server.request(
                "POST", f"/_synapse/client/govchat/v1/channels/{quote(info.find())}/owners", admin.access_token, json={"user_id": owner.user_id}
            )
            assert answer.status_code == 200, answer.text
        reader = server.register_plain_user("pembaca-info")
        info.wait_for(reader.user_id)
        for size in sizes:
            fill(server, info, size)
            registrations = [measure_registration(server, info) for _ in range(samples)]
            posts = [measure_post_to_sync(server, owner, reader, info.find()) for _ in range(samples)]
            row = (
                kind,
                len(info.members()),
                statistics.median(r[0] for r in registrations) * 1000,
                statistics.median(r[1] for r in registrations) * 1000,
                statistics.median(posts) * 1000,
            )
            print("  %-8s INFO=%5d  register %7.1f ms  in INFO %7.1f ms  post->sync %7.1f ms" % row, flush=True)
            rows.append(row)
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000", help="INFO sizes to measure at, ascending")
    parser.add_argument("--samples", type=int, default=5, help="measurements per size (median reported)")
    parser.add_argument("--only", choices=("govchat", "stock"), help="run one server only")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    rows: list[tuple[str, int, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="govchat-channels-bench-") as scratch:
        for kind, factory in (("govchat", govchat_server), ("stock", stock_server)):
            if arguments.only and arguments.only != kind:
                continue
            rows += run_server(kind, factory(Path(scratch) / kind), sizes, arguments.samples)
    print()
    print("| server | INFO members | registration request (p50) | until in INFO (p50) | owner post -> member sync (p50) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, members, answered, joined, post in rows:
        name = "GovChat (background join)" if kind == "govchat" else "stock auto_join_rooms"
        print(f"| {name} | {members} | {answered:.0f} ms | {joined:.0f} ms | {post:.0f} ms |")


if __name__ == "__main__":
    main()
