"""Public channels: registration cost as INFO grows, and owner post to members' next sync.

Compares two homeservers on loopback, both Synapse 1.163 started directly
(`python -m synapse.app.homeserver`, no launcher, no Bot-GovChat, no mail server)
from the same rendered GovChat homeserver.yaml (SQLite, bcrypt_rounds 4, the test
suite's relaxed client rate limits; `rc_joins_per_room` left at Synapse's default):

  * GovChat: every GovChat module loaded; the public_channels module creates INFO
             (`#info:govchat.localhost`, room version 12) and joins each new user to it
             in the background after registration; the owner is appointed through
             GovChat's channels API.
  * stock:   every GovChat module stripped from `modules:` (plain Synapse) plus Synapse's
             native `auto_join_rooms: ["#info:govchat.localhost"]` with
             `autocreate_auto_join_rooms` (preset `public_chat`, server default room
             version), which joins inside the registration request. The first user
             registered creates INFO and is its owner (power 100).

At each INFO size the bench first fills INFO (fill users registered with 8 threads
through the shared-secret admin API) and waits until INFO's joined member count has
reached the size, so that no fill join is still queued when it measures. Then,
`--samples` times one after the other, with the median reported:

  * registration request: the shared-secret admin registration (nonce + register);
  * until in INFO: from the start of the registration until the new user's own
    `/joined_rooms` lists INFO (polled every 20 ms);
  * owner post -> member sync: from the owner's send until a member's waiting
    (long-poll, lazy-loaded members) `/sync` returns the post.

    .venv/bin/python -m bench.public_channels_bench [--sizes 100,1000,5000] [--samples 5] [--only govchat|stock] [--keep]

Bounded: loopback only; every wait has a deadline (a fill that stops growing for
`STALL_SECONDS` aborts and names the data directory, which is then kept, as with `--keep`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.synapse_only import BenchError, SynapseOnlyServer
from tests.harness import User

INFO_ALIAS = "#info:govchat.localhost"
FILL_THREADS = 8
STALL_SECONDS = 120  # a fill whose member count does not grow for this long has failed
JOIN_TIMEOUT_SECONDS = 120
POLL_SECONDS = 0.02
# Password hashing is not what is measured; keep it cheap on both servers.
FAST_HASHING = {"bcrypt_rounds": 4}
LAZY_SYNC_FILTER = quote('{"room":{"state":{"lazy_load_members":true},"timeline":{"limit":20}}}')


def stock_auto_join(config: dict[str, Any]) -> None:
    """Stock Synapse: no GovChat module, INFO joined by Synapse's own auto-join inside registration."""
    config["modules"] = []
    config.update(
        {
            "auto_join_rooms": [INFO_ALIAS],
            "autocreate_auto_join_rooms": True,
            "autocreate_auto_join_room_preset": "public_chat",
        }
    )


def make_server(kind: str, data_dir: Path) -> SynapseOnlyServer:
    settings: dict[str, Any] = {"synapse_extra": dict(FAST_HASHING)}
    if kind == "stock":
        settings["channels"] = {"enabled": False}  # belt and braces: its module is stripped anyway
    return SynapseOnlyServer(data_dir=data_dir, settings=settings, adjust=stock_auto_join if kind == "stock" else None)


class Info:
    def __init__(self, server: SynapseOnlyServer, admin: User) -> None:
        self.server = server
        self.admin = admin
        self.room_id = ""

    def find(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while not self.room_id:
            answer = self.server.client_api("GET", "/directory/room/" + quote(INFO_ALIAS))
            if answer.status_code == 200:
                self.room_id = answer.json()["room_id"]
            elif time.monotonic() > deadline:
                raise BenchError(f"{INFO_ALIAS} does not exist after {timeout} s; see {self.server.data_dir}/homeserver.log")
            else:
                time.sleep(0.1)
        return self.room_id

    def count(self) -> int:
        answer = self.server.request("GET", f"/_synapse/admin/v1/rooms/{self.find()}/members", self.admin.access_token)
        answer.raise_for_status()
        return int(answer.json()["total"])

    def wait_for(self, user: User, timeout: float = JOIN_TIMEOUT_SECONDS) -> None:
        """Until the user's own /joined_rooms lists INFO."""
        room_id = self.find()
        deadline = time.monotonic() + timeout
        while room_id not in self.server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"]:
            if time.monotonic() > deadline:
                raise BenchError(f"{user.user_id} not in INFO after {timeout} s; see {self.server.data_dir}/homeserver.log")
            time.sleep(POLL_SECONDS)


def fill(server: SynapseOnlyServer, info: Info, size: int) -> None:
    """Register users until INFO has `size` members, then wait until every join has landed."""
    missing = size - info.count()
    if missing > 0:
        started = time.monotonic()
        with ThreadPoolExecutor(FILL_THREADS) as pool:
            list(pool.map(lambda _: server.register_plain_user(f"isi-{uuid.uuid4().hex[:12]}"), range(missing)))
        print(f"    registered {missing} fill users in {time.monotonic() - started:.0f} s", flush=True)
    last, last_change = info.count(), time.monotonic()
    while last < size:
        time.sleep(0.5)
        now = info.count()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            raise BenchError(f"INFO stuck at {now} of {size} members for {STALL_SECONDS} s; see {server.data_dir}/homeserver.log")
    time.sleep(1)  # let the last join's side effects (notifications, caches) settle


def measure_registration(server: SynapseOnlyServer, info: Info) -> tuple[float, float]:
    started = time.perf_counter()
    user = server.register_plain_user(f"ukur-{uuid.uuid4().hex[:12]}")
    answered = time.perf_counter() - started
    info.wait_for(user)
    return answered, time.perf_counter() - started


def sync(server: SynapseOnlyServer, user: User, since: str | None, timeout_ms: int) -> dict[str, Any]:
    path = f"/sync?filter={LAZY_SYNC_FILTER}&timeout={timeout_ms}" + (f"&since={since}" if since else "")
    answer = server.client_api("GET", path, user.access_token)
    answer.raise_for_status()
    return dict(answer.json())


def measure_post_to_sync(server: SynapseOnlyServer, owner: User, reader: User, room_id: str) -> float:
    since = sync(server, reader, None, 0)["next_batch"]
    body = f"makluman-{uuid.uuid4().hex}"
    result: dict[str, float] = {}

    def wait() -> None:
        token = since
        deadline = time.monotonic() + 60
        while "at" not in result and time.monotonic() < deadline:
            answer = sync(server, reader, token, 10_000)
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
    if sent.status_code != 200:
        raise BenchError(f"owner could not post: {sent.status_code} {sent.text}")
    waiter.join(timeout=70)
    if "at" not in result:
        raise BenchError("the member's sync did not return the owner's post within 60 s")
    return result["at"] - started


def run_server(kind: str, server: SynapseOnlyServer, sizes: list[int], samples: int) -> list[tuple[str, int, float, float, float]]:
    rows = []
    server.start()
    try:
        # Stock: the first real user creates INFO (power 100), so the owner registers first.
        owner = server.register_plain_user("pemilik-info")
        admin = server.register_admin()
        info = Info(server, admin)
        info.wait_for(owner)
        if kind == "govchat":
            answer = server.request(
                "POST", f"/_synapse/client/govchat/v1/channels/{quote(info.find())}/owners", admin.access_token, json={"user_id": owner.user_id}
            )
            if answer.status_code != 200:
                raise BenchError(f"appointing the INFO owner failed: {answer.status_code} {answer.text}")
        reader = server.register_plain_user("pembaca-info")
        info.wait_for(reader)
        for size in sizes:
            started = time.monotonic()
            fill(server, info, size)
            print(f"    {kind}: INFO at {info.count()} members after {time.monotonic() - started:.0f} s", flush=True)
            registrations = [measure_registration(server, info) for _ in range(samples)]
            posts = [measure_post_to_sync(server, owner, reader, info.find()) for _ in range(samples)]
            row = (
                kind,
                size,
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
    parser.add_argument("--keep", action="store_true", help="keep the servers' data directories (homeserver.log)")
    arguments = parser.parse_args()
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    samples = max(1, min(arguments.samples, 50))
    scratch = Path(tempfile.mkdtemp(prefix="govchat-channels-bench-"))
    print(f"data directories under {scratch}", flush=True)
    rows: list[tuple[str, int, float, float, float]] = []
    keep = arguments.keep
    try:
        for kind in ("govchat", "stock"):
            if arguments.only and arguments.only != kind:
                continue
            rows += run_server(kind, make_server(kind, scratch / kind), sizes, samples)
    except BaseException:
        keep = True
        raise
    finally:
        if keep:
            print(f"kept {scratch}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(f"INFO join at registration, {samples} samples per size (p50), loopback, SQLite")
    print("| server | INFO members | registration request (p50) | until in INFO (p50) | owner post -> member sync (p50) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, members, answered, joined, post in rows:
        name = "GovChat (background join)" if kind == "govchat" else "stock Synapse auto_join_rooms"
        print(f"| {name} | {members} | {answered:.0f} ms | {joined:.0f} ms | {post:.0f} ms |")


if __name__ == "__main__":
    main()
