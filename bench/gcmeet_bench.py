"""GCMeet token issuance: tokens per second and p99 latency, membership check included.

Starts one GovChat homeserver on loopback (its own data dir, per-user rate limit
raised so it measures the work, not the limiter), fills rooms of 10 and 1 000
joined members, then asks for tokens from a few client threads, rotating through
the members. Stock Synapse's own membership lookup (GET the member's
m.room.member state) is measured in the same run for comparison.

    .venv/bin/python -m bench.gcmeet_bench [--requests 600] [--threads 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import requests

from tests.harness import GovChatServer, User

GCMEET = "/_synapse/client/govchat/v1/gcmeet"
ROOM_SIZES = (10, 1000)


def fill_room(server: GovChatServer, size: int) -> tuple[str, list[User]]:
    owner = server.register_plain_user()
    answer = server.client_api("POST", "/createRoom", owner.access_token, json={"preset": "private_chat"})
    answer.raise_for_status()
    room_id = str(answer.json()["room_id"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        members = list(pool.map(lambda _: _join(server, owner, room_id), range(size - 1)))
    return room_id, [owner, *members]


def _join(server: GovChatServer, owner: User, room_id: str) -> User:
    user = server.register_plain_user()
    invite = {"user_id": user.user_id}
    server.client_api("POST", f"/rooms/{quote(room_id)}/invite", owner.access_token, json=invite).raise_for_status()
    server.client_api("POST", f"/rooms/{quote(room_id)}/join", user.access_token, json={}).raise_for_status()
    return user


def measure(requests_total: int, threads: int, call: Callable[[int], int]) -> tuple[float, float, float]:
    """(requests per second, median ms, p99 ms); every call must answer 200."""
    latencies: list[float] = []

    def one(index: int) -> None:
        started = time.perf_counter()
        status = call(index)
        latencies.append((time.perf_counter() - started) * 1000)
        assert status == 200, status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(requests_total)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return requests_total / elapsed, statistics.median(latencies), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    settings = {
        "gcmeet": {"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 1_000_000},
        # 1 000 people joining one room within seconds would trip Synapse's per-room join limit.
        # Cheap password hashing makes registering 1 000 members take seconds, not minutes;
        # no measured request hashes a password.
        "synapse_extra": {"rc_joins_per_room": {"per_second": 1000, "burst_count": 1000}, "bcrypt_rounds": 4},
    }
    with tempfile.TemporaryDirectory(prefix="gcmeet-bench-") as data_dir:
        server = GovChatServer(data_dir=Path(data_dir), settings=settings)
        server.start()
        try:
            rows = []
            for size in ROOM_SIZES:
                started = time.perf_counter()
                room_id, members = fill_room(server, size)
                setup = time.perf_counter() - started
                sessions = [requests.Session() for _ in range(args.threads)]

                def token(index: int) -> int:
                    user = members[index % len(members)]
                    return sessions[index % len(sessions)].post(
                        server.base_url + f"{GCMEET}/token",
                        json={"room_id": room_id},
                        headers={"Authorization": f"Bearer {user.access_token}"},
                        timeout=30,
                    ).status_code

                def stock(index: int) -> int:
                    user = members[index % len(members)]
                    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.member/{quote(user.user_id)}"
                    return sessions[index % len(sessions)].get(
                        server.base_url + path, headers={"Authorization": f"Bearer {user.access_token}"}, timeout=30
                    ).status_code

                measure(min(50, args.requests), args.threads, token)  # warm caches
                rows.append((size, "GCMeet token", *measure(args.requests, args.threads, token), setup))
                rows.append((size, "stock member state", *measure(args.requests, args.threads, stock), setup))
        finally:
            server.stop()
    print(f"\n{args.requests} requests per row, {args.threads} client threads, loopback, SQLite\n")
    print(f"| {'members':>7} | {'endpoint':<18} | {'req/s':>7} | {'median ms':>9} | {'p99 ms':>7} | {'setup s':>7} |")
    print(f"|{'-' * 9}|{'-' * 20}|{'-' * 9}|{'-' * 11}|{'-' * 9}|{'-' * 9}|")
    for size, name, rate, median, p99, setup in rows:
        print(f"| {size:>7} | {name:<18} | {rate:>7.0f} | {median:>9.1f} | {p99:>7.1f} | {setup:>7.1f} |")


if __name__ == "__main__":
    main()
