"""INFO at national scale: what one more member of INFO costs, GovChat against stock Synapse.

Runs each variant on the worker layout (PostgreSQL, Redis, main, stream writer, two
client workers, background, media, nginx), one after the other, and grows INFO on it
through the sizes (1 000, 5 000, 20 000 by default), measuring at each:

  * registration + INFO join: a fresh user registers (shared-secret admin API) and polls
    /joined_rooms until INFO is there (GovChat joins in the background, stock Synapse's
    `auto_join_rooms` inside the registration request);
  * owner post: the PUT /send latency of INFO's owner, and CPU seconds (every process, from
    /proc) and PostgreSQL rows inserted (pg_stat_user_tables.n_tup_ins) per post;
  * owner post -> the next /sync of 50 sampled members long-polling (p50/p99);
  * /sync wake-ups (Synapse's synapse_notifier_users_woken_by_stream, summed over every
    process's metrics port) caused by one member's login (+ first /sync), read receipt and
    typing in INFO, and by one owner post, while the 50 sampled members wait in /sync;
  * RSS per process.

Variants:
  * before:  GovChat before the tuning below (`channels: {deliver_typing: true, share_presence: true}`);
  * stock:   the same launcher and layout with `modules: []` (no GovChat module at all)
             and Synapse's `auto_join_rooms: [#info]`, the room created by its owner;
  * govchat: GovChat as it ships now: typing and presence in channels not passed on (docs/capacity.md).

INFO is filled through an application service registered for the bench only (users
`@fill-*`, no password hashing, `inhibit_login`), 8 threads; stock Synapse's fill users
are joined by the application service as puppets, GovChat's by GovChat itself (the join
queue). Fill time is reported.

    .venv/bin/python -m bench.info_scale [--sizes 1000,5000,20000] [--only before,stock,govchat] [--keep]

Bounded: loopback only; every request and wait has a deadline; each server is stopped
before the next starts; data directories are removed unless --keep (or a failure).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import requests
import yaml

from bench.scale_out_bench import (
    BASE_SETTINGS,
    CHANNELS_API,
    LAZY_SYNC_FILTER,
    REQUEST_TIMEOUT_SECONDS,
    WORKERS,
    Bench,
    Client,
    LayoutSpec,
    ProcessMeter,
    ProcessUse,
    Sizes,
    Timings,
    client_path,
    free_port_block,
    ms,
    outside_cluster,
    parse_bench_arguments,
    register_with_secret,
    remove_scratch,
    send_path,
)
from bench.synapse_only import BenchError
from govchat.layout import metrics_port_of, worker_layout
from tests import harness
from tests.harness import GovChatServer, User

DEFAULT_SIZES = (1000, 5000, 20000)
SAMPLED_MEMBERS = 50
REGISTRATION_SAMPLES = 20
COST_POSTS = 20
SYNC_POSTS = 10
FILL_THREADS = 8
FILL_SECONDS_PER_USER = 1.0  # generous: a shared, loaded machine joined 3 users a second
JOIN_DEADLINE_SECONDS = 120
SYNC_POLL_MS = 10_000
STATS_FLUSH_SECONDS = 11  # PostgreSQL backends report table counters when idle, at least every 10 s
SETTLE_SECONDS = 1.5
SETTLE_DEADLINE_SECONDS = 20
CLIENT_WORKERS = int(WORKERS["workers"]["client"])
AS_TOKEN = "bench-info-scale-as-token"
FILL_PREFIX = "fill-"
WOKEN_METRIC = "synapse_notifier_users_woken_by_stream"

# GovChat before this bench's tuning: typing and online status in channels passed on to every member, as in stock Synapse.
BEFORE_TUNING: dict[str, Any] = {"channels": {"deliver_typing": True, "share_presence": True}}


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    stock: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


VARIANTS = (
    Variant("before", "GovChat before tuning", settings=BEFORE_TUNING),
    Variant("stock", "stock Synapse auto_join_rooms", stock=True),
    Variant("govchat", "GovChat (typing, presence in channels not passed on)"),
)


@dataclass
class SizeResult:
    size: int
    fill_seconds: float = 0.0
    register_join: Timings = field(default_factory=Timings)
    post_request: Timings = field(default_factory=Timings)
    post_to_sync: Timings = field(default_factory=Timings)
    cpu_per_post: float = math.nan
    rows_per_post: dict[str, float] = field(default_factory=dict)
    woken: dict[str, dict[str, float]] = field(default_factory=dict)  # action -> stream -> users woken
    use: dict[str, ProcessUse] = field(default_factory=dict)


# --- the server ---------------------------------------------------------------------------


def appservice_file(data_dir: Path) -> Path:
    path = data_dir / "bench-appservice.yaml"
    registration = {
        "id": "bench-info-fill",
        "url": None,  # no transactions pushed to it
        "as_token": AS_TOKEN,
        "hs_token": uuid.uuid4().hex,
        "sender_localpart": "bench-info-fill",
        "rate_limited": False,
        "namespaces": {"users": [{"exclusive": False, "regex": f"@{FILL_PREFIX}.*"}], "rooms": [], "aliases": []},
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(registration), encoding="utf-8")
    return path


def make_server(variant: Variant, data_dir: Path) -> GovChatServer:
    extra: dict[str, Any] = {**BASE_SETTINGS["synapse_extra"], "app_service_config_files": [str(appservice_file(data_dir))]}
    settings: dict[str, Any] = {**BASE_SETTINGS, **WORKERS}
    if variant.stock:
        info = f"#info:{harness.GovChatServer(data_dir=data_dir).server_name}"
        extra.update({"modules": [], "auto_join_rooms": [info], "autocreate_auto_join_rooms": False})
        settings["channels"] = {"enabled": False}
    for section, values in variant.settings.items():
        settings[section] = {**settings.get(section, {}), **values}
    settings["synapse_extra"] = extra
    return GovChatServer(data_dir=data_dir, settings=settings, metrics_port=free_port_block(16))


def metrics_ports(server: GovChatServer) -> list[int]:
    layout = worker_layout(server.data_dir / "run", CLIENT_WORKERS, server.metrics_port, federation=False)
    return [metrics_port_of(p.name, p.role, server.metrics_port) for p in layout.processes]


def woken_by_stream(ports: list[int]) -> Counter[str]:
    """synapse_notifier_users_woken_by_stream summed over every process, by stream."""
    total: Counter[str] = Counter()
    for port in ports:
        text = requests.get(f"http://127.0.0.1:{port}/_synapse/metrics", timeout=REQUEST_TIMEOUT_SECONDS).text
        for line in text.splitlines():
            if line.startswith(WOKEN_METRIC) and not line.startswith(WOKEN_METRIC + "_created"):
                labels, _, value = line.rpartition(" ")
                stream = labels.split('stream="', 1)[1].split('"', 1)[0] if 'stream="' in labels else "?"
                total[stream] += float(value)
    return total


class Database:
    """Rows inserted per table, from PostgreSQL's own counters."""

    def __init__(self, homeserver_config: Path) -> None:
        args = yaml.safe_load(homeserver_config.read_text())["database"]["args"]
        self.args = {key: args[key] for key in ("host", "port", "user", "dbname") if key in args}

    def inserted(self) -> Counter[str]:
        connection = psycopg2.connect(**self.args)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT relname, n_tup_ins FROM pg_stat_user_tables")
                return Counter({name: int(count) for name, count in cursor.fetchall()})
        finally:
            connection.close()


# --- one variant --------------------------------------------------------------------------


class InfoScale:
    def __init__(self, variant: Variant, server: GovChatServer) -> None:
        self.variant = variant
        self.server = server
        self.client = Client(server.base_url)
        self.secret = ""
        self.info = ""
        self.owner: User | None = None
        self.admin: User | None = None
        self.filled = 0
        self.sampled: list[User] = []
        self.ports: list[int] = []

    def log(self, text: str) -> None:
        print(f"  {self.variant.key}: {text}", flush=True)

    def run(self, sizes: list[int], results: list[SizeResult]) -> None:
        """Appends each size's result as it is measured, so a later failure keeps the earlier ones."""
        self.server.start()
        try:
            self.secret = yaml.safe_load((self.server.data_dir / "secrets.yaml").read_text())["registration_shared_secret"]
            self.ports = metrics_ports(self.server)
            self.prepare_info()
            self.database = Database(self.server.homeserver_config)
            for size in sizes:
                result = SizeResult(size)
                started = time.monotonic()
                self.fill_to(size - 1)  # the owner is a member too
                result.fill_seconds = time.monotonic() - started
                self.log(f"INFO has {size} members; filled in {result.fill_seconds:.0f} s")
                if not self.sampled:
                    self.sampled = [self.login_fill_user(number) for number in range(SAMPLED_MEMBERS)]
                self.measure(result)
                results.append(result)
                print_report({self.variant.key: [result]})  # kept in the output even if a larger size never finishes
        finally:
            self.server.stop()

    # set-up

    def prepare_info(self) -> None:
        self.admin = register_with_secret(self.client, self.secret, f"admin-{uuid.uuid4().hex[:8]}", admin=True)
        self.owner = register_with_secret(self.client, self.secret, f"pemilik-{uuid.uuid4().hex[:8]}")
        alias = quote(f"#info:{self.server.server_name}")
        if self.variant.stock:
            body = {"preset": "public_chat", "name": "INFO", "room_alias_name": "info"}
            self.info = str(self.client.ok("POST", client_path("/createRoom"), self.owner.access_token, body)["room_id"])
        else:
            # INFO's alias exists a moment before its channel marker: wait until the owner can be appointed.
            deadline = time.monotonic() + JOIN_DEADLINE_SECONDS
            appointed = False
            while not appointed:
                if time.monotonic() > deadline:
                    raise BenchError(f"GovChat did not set up INFO within {JOIN_DEADLINE_SECONDS} s")
                time.sleep(0.2)
                self.info = self.info or self.client.call("GET", client_path(f"/directory/room/{alias}")).json().get("room_id", "")
                if self.info:
                    body = {"user_id": self.owner.user_id}
                    appointed = self.client.call("POST", f"{CHANNELS_API}/{quote(self.info)}/owners", self.admin.access_token, body).status_code == 200
        self.wait_for_members(2 if not self.variant.stock else 1, JOIN_DEADLINE_SECONDS)  # owner (and admin)
        self.extra_members = self.joined_members() - 1

    def joined_members(self) -> int:
        assert self.admin is not None
        return int(self.client.ok("GET", f"/_synapse/admin/v1/rooms/{quote(self.info)}", self.admin.access_token)["joined_members"])

    def wait_for_members(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (joined := self.joined_members()) < count:
            if time.monotonic() > deadline:
                raise BenchError(f"INFO has {joined} of {count} members after {timeout:.0f} s; see {self.server.data_dir}")
            time.sleep(1)

    def as_call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        return self.client.ok(method, path, AS_TOKEN, body)

    def fill_user(self, number: int) -> None:
        localpart = f"{FILL_PREFIX}{number:07d}"
        self.as_call("POST", client_path("/register"), {"type": "m.login.application_service", "username": localpart, "inhibit_login": True})
        if self.variant.stock:
            user_id = quote(f"@{localpart}:{self.server.server_name}")
            self.as_call("POST", client_path(f"/join/{quote(self.info)}?user_id={user_id}"), {})

    def fill_to(self, members: int) -> None:
        """INFO grown to `members` besides the owner (and the admin on GovChat)."""
        target = members - self.extra_members
        pool = ThreadPoolExecutor(FILL_THREADS)
        try:
            list(pool.map(self.fill_user, range(self.filled, target)))
        finally:
            # On Ctrl-C, SIGTERM or a failed request, the queued registrations are dropped, not sent first.
            pool.shutdown(cancel_futures=True)
        added, self.filled = target - self.filled, target
        self.wait_for_members(members + 1, JOIN_DEADLINE_SECONDS + added * FILL_SECONDS_PER_USER)

    def login_fill_user(self, number: int) -> User:
        body = {"type": "m.login.application_service", "identifier": {"type": "m.id.user", "user": f"{FILL_PREFIX}{number:07d}"}}
        data = self.as_call("POST", client_path("/login"), body)
        return User(user_id=data["user_id"], password="", access_token=data["access_token"])

    # measures

    def measure(self, result: SizeResult) -> None:
        result.register_join = self.measure_registration()
        self.log(f"registration + INFO join p50 {result.register_join.p(50):.0f} ms")
        self.measure_post_cost(result)
        self.log(f"owner post p50 {result.post_request.p(50):.0f} ms, {result.cpu_per_post:.3f} CPU s/post")
        result.post_to_sync = self.measure_post_to_sync()
        self.log(f"post -> 50 members' sync p99 {result.post_to_sync.p(99):.0f} ms")
        result.woken = self.measure_wake_ups()
        self.log(f"wake-ups {json.dumps(result.woken)}")

    def measure_registration(self) -> Timings:
        timings = Timings()
        started_all = time.perf_counter()
        for _ in range(REGISTRATION_SAMPLES):
            started = time.perf_counter()
            user = register_with_secret(self.client, self.secret, f"baru-{uuid.uuid4().hex[:10]}")
            deadline = time.monotonic() + JOIN_DEADLINE_SECONDS
            while self.info not in self.client.ok("GET", client_path("/joined_rooms"), user.access_token)["joined_rooms"]:
                if time.monotonic() > deadline:
                    raise BenchError(f"{user.user_id} not in INFO {JOIN_DEADLINE_SECONDS} s after registering")
                time.sleep(0.02)
            timings.latencies.append(time.perf_counter() - started)
        timings.wall = time.perf_counter() - started_all
        self.extra_members += REGISTRATION_SAMPLES
        return timings

    def measure_post_cost(self, result: SizeResult) -> None:
        assert self.owner is not None and self.server.process is not None
        time.sleep(STATS_FLUSH_SECONDS)
        before = self.database.inserted()
        meter = ProcessMeter(self.server.process.pid, {})
        meter.start()
        for number in range(COST_POSTS):
            started = time.perf_counter()
            self.client.ok("PUT", send_path(self.info), self.owner.access_token, {"msgtype": "m.text", "body": f"Makluman {number}"})
            result.post_request.latencies.append(time.perf_counter() - started)
        time.sleep(SETTLE_SECONDS)  # what the post sets off after its answer (push actions, notifying)
        meter.stop()
        time.sleep(STATS_FLUSH_SECONDS)
        inserted = self.database.inserted() - before
        result.use = meter.use
        result.cpu_per_post = sum(use.cpu_seconds for name, use in meter.use.items() if not name.startswith("bench")) / COST_POSTS
        result.rows_per_post = {table: count / COST_POSTS for table, count in inserted.most_common() if count}

    def measure_post_to_sync(self) -> Timings:
        assert self.owner is not None
        spec = LayoutSpec(self.variant.key, self.variant.label, {})
        reused = Bench(spec, self.server, Sizes(sends=0, registrations=0, email_registrations=0, members=SAMPLED_MEMBERS, posts=SYNC_POSTS, probes=0))
        reused.measure_post_to_sync(self.owner, self.sampled, self.info)
        return reused.results.post_to_sync

    def measure_wake_ups(self) -> dict[str, dict[str, float]]:
        """Users woken per stream by each action, while the sampled members wait in /sync."""
        assert self.owner is not None
        member = self.sampled[0]
        crowd = SyncCrowd(self.server.base_url, self.sampled[1:])
        crowd.start()
        last = str(self.client.ok("PUT", send_path(self.info), self.owner.access_token, {"msgtype": "m.text", "body": "Makluman"})["event_id"])
        self.settle_woken()

        def login() -> None:
            fresh = self.login_fill_user(self.filled - 1)  # never logged in before: its first /sync sets it online
            self.client.ok("GET", client_path(f"/sync?filter={LAZY_SYNC_FILTER}&timeout=0"), fresh.access_token)

        actions = {
            "login + first /sync": login,
            "read receipt": lambda: self.client.ok("POST", client_path(f"/rooms/{quote(self.info)}/receipt/m.read/{quote(last)}"), member.access_token, {}),
            "typing": lambda: self.client.ok(
                "PUT", client_path(f"/rooms/{quote(self.info)}/typing/{quote(member.user_id)}"), member.access_token, {"typing": True, "timeout": 5000}
            ),
            "owner post": lambda: self.client.ok("PUT", send_path(self.info), self.owner.access_token if self.owner else "", {"msgtype": "m.text", "body": "Makluman"}),
        }
        woken: dict[str, dict[str, float]] = {}
        try:
            for name, action in actions.items():
                before = self.settle_woken()
                try:
                    action()
                except BenchError as error:
                    woken[name] = {"refused": 1.0}
                    self.log(f"{name}: {error}")
                    continue
                woken[name] = {stream: count for stream, count in (self.settle_woken() - before).items() if count}
        finally:
            crowd.stop()
        return woken

    def settle_woken(self) -> Counter[str]:
        """The wake-up counters once they have not moved for SETTLE_SECONDS."""
        deadline = time.monotonic() + SETTLE_DEADLINE_SECONDS
        current = woken_by_stream(self.ports)
        while time.monotonic() < deadline:
            time.sleep(SETTLE_SECONDS)
            latest = woken_by_stream(self.ports)
            if latest == current:
                return latest
            current = latest
        return current


class SyncCrowd:
    """Members long-polling /sync until stopped."""

    def __init__(self, base_url: str, members: list[User]) -> None:
        self.base_url = base_url
        self.members = members
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.follow, args=(member,), daemon=True) for member in members]
        self.ready = threading.Barrier(len(members) + 1, timeout=REQUEST_TIMEOUT_SECONDS * 2)

    def follow(self, member: User) -> None:
        client = Client(self.base_url)
        token = client.ok("GET", client_path(f"/sync?filter={LAZY_SYNC_FILTER}&timeout=0"), member.access_token)["next_batch"]
        try:
            self.ready.wait()
        except threading.BrokenBarrierError:
            return
        while not self.stopping.is_set():
            path = client_path(f"/sync?filter={LAZY_SYNC_FILTER}&timeout={SYNC_POLL_MS}&since={token}")
            try:
                token = client.ok("GET", path, member.access_token, timeout=SYNC_POLL_MS / 1000 + REQUEST_TIMEOUT_SECONDS)["next_batch"]
            except (BenchError, requests.RequestException):
                time.sleep(0.5)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        self.ready.wait()
        time.sleep(SETTLE_SECONDS)  # their long polls reach the server

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=SYNC_POLL_MS / 1000 + REQUEST_TIMEOUT_SECONDS)


# --- report -------------------------------------------------------------------------------


def each_result(results: dict[str, list[SizeResult]]) -> list[tuple[str, SizeResult]]:
    """(variant label, result) for every measured size, in the order measured."""
    labels = {variant.key: variant.label for variant in VARIANTS}
    return [(labels[key], result) for key, rows in results.items() for result in rows]


def print_report(results: dict[str, list[SizeResult]]) -> None:
    print()
    print(f"Loopback, {os.cpu_count()} cores (shared), worker layout ({CLIENT_WORKERS} client workers), PostgreSQL; latencies in ms.")
    print()
    print(f"### Registration + INFO join ({REGISTRATION_SAMPLES} fresh users, one after the other), owner post, post -> {SAMPLED_MEMBERS} members' next /sync")
    print()
    print("| variant | INFO members | filled in | register+join p50 | p99 | post request p50 | p99 | post -> sync p50 | p99 | n | CPU s / post | DB rows / post |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, r in each_result(results):
        rows_total = sum(r.rows_per_post.values())
        print(
            f"| {label} | {r.size} | {r.fill_seconds:.0f} s | {ms(r.register_join.p(50))} | {ms(r.register_join.p(99))} "
            f"| {ms(r.post_request.p(50))} | {ms(r.post_request.p(99))} | {ms(r.post_to_sync.p(50))} | {ms(r.post_to_sync.p(99))} "
            f"| {len(r.post_to_sync.latencies)} | {r.cpu_per_post:.3f} | {rows_total:.0f} |"
        )
    print()
    print("### Rows inserted per owner post, by table (PostgreSQL n_tup_ins)")
    print()
    print("| variant | INFO members | tables |")
    print("| --- | ---: | --- |")
    for label, r in each_result(results):
        tables = ", ".join(f"{table} {count:.1f}" for table, count in list(r.rows_per_post.items())[:8])
        print(f"| {label} | {r.size} | {tables} |")
    print()
    print(f"### /sync wake-ups ({WOKEN_METRIC}, all processes) per action, {SAMPLED_MEMBERS - 1} members waiting in /sync")
    print()
    print("| variant | INFO members | action | users woken, by stream |")
    print("| --- | ---: | --- | --- |")
    for label, r in each_result(results):
        for action, streams in r.woken.items():
            text = ", ".join(f"{stream} {count:.0f}" for stream, count in sorted(streams.items())) or "none"
            print(f"| {label} | {r.size} | {action} | {text} |")
    print()
    print("### RSS per process (MB, after the owner posts)")
    print()
    names = sorted({name for rows in results.values() for r in rows for name in r.use if not name.startswith("bench")})
    print("| variant | INFO members | " + " | ".join(names) + " |")
    print("| --- | ---: |" + " ---: |" * len(names))
    for label, r in each_result(results):
        cells = [f"{r.use[name].rss_kb / 1024:.0f}" if name in r.use else "" for name in names]
        print(f"| {label} | {r.size} | " + " | ".join(cells) + " |")


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(size) for size in DEFAULT_SIZES), help="INFO sizes, ascending")
    parser.add_argument("--only", default=",".join(variant.key for variant in VARIANTS), help="variants to run, in this order")
    parser.add_argument("--keep", action="store_true", help="keep the data directories and PostgreSQL clusters")
    arguments = parse_bench_arguments(parser)
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    variants = {variant.key: variant for variant in VARIANTS}
    wanted = [key.strip() for key in arguments.only.split(",") if key.strip()]
    if any(key not in variants for key in wanted):
        parser.error(f"choose variants from {', '.join(variants)}")
    scratch = Path(tempfile.mkdtemp(prefix="govchat-info-scale-"))
    print(f"data directories under {scratch}; sizes {sizes}", flush=True)
    results: dict[str, list[SizeResult]] = {}
    clusters: list[Path] = []
    keep = arguments.keep
    try:
        for key in wanted:
            server = make_server(variants[key], scratch / key)
            print(f"{variants[key].label}: starting", flush=True)
            try:
                InfoScale(variants[key], server).run(sizes, results.setdefault(key, []))
            finally:
                cluster = outside_cluster(server.data_dir)
                if cluster is not None:
                    clusters.append(cluster)
            print_report(results)  # so far, in case a later variant does not finish
    except Exception:
        keep = True
        print_report(results)
        raise
    finally:
        remove_scratch(scratch, clusters, keep)


if __name__ == "__main__":
    main()
