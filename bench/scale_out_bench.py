"""Scale-out: one Synapse process on SQLite or PostgreSQL against the worker layout, and stock Synapse.

Starts four homeservers on loopback, one after the other (never two at once), each
from GovChat's own config, Bot-GovChat off, bcrypt_rounds 4 (password hashing is not
what is measured) and the test suite's relaxed client rate limits:

  * sqlite:     `govchat run`, one Synapse process on SQLite (what `make run` starts);
  * stock:      stock Synapse: GovChat's rendered homeserver.yaml (SQLite) with every
                module stripped from `modules:`, started as `python -m synapse.app.homeserver`
                (the bench runs GovChat's local mail server beside it, as a process of its own);
  * postgresql: `govchat run` with `database: {engine: postgresql}`: GovChat's own
                PostgreSQL on a unix socket, one Synapse process;
  * workers:    `govchat run` with `workers: {client: 2}` as well: PostgreSQL, Redis, Synapse's
                main process, a stream writer, two client workers, a background and a media
                worker, nginx on the port.

On each, after a warm-up, it measures (sizes for a full run; --quick in brackets):

  * message send: 300 (40) PUT /send by 4 users in 3 private rooms, one after the other,
    then as many from a pool of 4 threads (latency of each request, and messages/s);
  * registration: 100 (20) shared-secret admin registrations (nonce + register), then
    30 (8) of the e-mail flow Element uses (requestToken, the mailed link, register twice),
    each from a pool of 4 threads;
  * owner post -> members' next sync: a channel (GovChat's channels API; on stock Synapse a
    public room the owner creates) with 6 (4) members each long-polling /sync with a since
    token; the owner posts 30 (8) times; from the start of the send until each member's
    /sync returns the post, and from the send's answer;
  * where the cost goes: GET /health and PUT /send through the port users reach against the
    same straight to a Synapse process's socket (worker layout: /health on main; /send on
    client1, which hands events to the stream writer, and on the stream writer itself);
  * per process: RSS (VmRSS; PSS beside it, since PostgreSQL's backends share memory) at the
    end, and CPU seconds (utime + stime from /proc) over the measured phase.

    .venv/bin/python -m bench.scale_out_bench [--quick] [--only sqlite,stock,postgresql,workers] [--keep]

Bounded: loopback only; every request and every wait has a deadline; each server is
stopped before the next starts and whatever happens (Ctrl-C and SIGTERM included); the
data directories (and, as root, the PostgreSQL clusters GovChat keeps under
/var/lib/postgresql/govchat) are removed unless --keep is given or the bench fails, when
they are kept for their logs and named.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import yaml

from bench.synapse_only import BenchError, SynapseOnlyServer, without_module
from govchat.launcher import UnixHTTPConnection
from govchat.mailserver import mail_files, read_mail
from tests import harness
from tests.harness import REPO_ROOT, GovChatServer, User, mail_link

CHANNELS_API = "/_synapse/client/govchat/v1/channels"
THREADS = 4
SENDERS = 4
ROOMS = 3
REQUEST_TIMEOUT_SECONDS = 30
SYNC_POLL_MS = 5_000
POST_DEADLINE_SECONDS = 30
POST_GAP_SECONDS = 0.3  # lets every member's next /sync reach the server before the next post
MAIL_POLL_SECONDS = 0.01
INFO_DEADLINE_SECONDS = 60
LAZY_SYNC_FILTER = quote('{"room":{"state":{"lazy_load_members":true},"timeline":{"limit":20}}}')
EMAIL_PASSWORD = "Kerajaan-2026!"
CLK_TCK = os.sysconf("SC_CLK_TCK")
METRICS_PORT_SPAN = 16  # metrics.port, the bot's + 1, the workers' + 10 ... + 14

BASE_SETTINGS: dict[str, Any] = {"bot": {"enabled": False}, "synapse_extra": {"bcrypt_rounds": 4}}
POSTGRESQL = {"database": {"engine": "postgresql"}}
WORKERS = {"database": {"engine": "postgresql"}, "workers": {"client": 2}}


@dataclass(frozen=True)
class LayoutSpec:
    key: str
    label: str
    settings: dict[str, Any]
    stock: bool = False


# Run in this order: the two SQLite servers side by side, so drift on a shared machine hits them alike.
LAYOUTS = (
    LayoutSpec("sqlite", "GovChat, SQLite, 1 process", {}),
    LayoutSpec("stock", "stock Synapse, SQLite, 1 process", {"channels": {"enabled": False}}, stock=True),
    LayoutSpec("postgresql", "GovChat, PostgreSQL, 1 process", POSTGRESQL),
    LayoutSpec("workers", "GovChat workers (2 client), PostgreSQL, Redis, nginx", WORKERS),
)


@dataclass(frozen=True)
class Sizes:
    sends: int
    registrations: int
    email_registrations: int
    members: int
    posts: int
    probes: int


FULL = Sizes(sends=300, registrations=100, email_registrations=30, members=6, posts=30, probes=300)
QUICK = Sizes(sends=40, registrations=20, email_registrations=8, members=4, posts=8, probes=60)


# --- numbers ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Timings:
    """Latencies in seconds, and the wall time they took together."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else math.nan


def timed_pool(work: Callable[[int], float], count: int, threads: int) -> Timings:
    started = time.perf_counter()
    if threads == 1:
        latencies = [work(number) for number in range(count)]
    else:
        with ThreadPoolExecutor(threads) as pool:
            latencies = list(pool.map(work, range(count)))
    return Timings(latencies, time.perf_counter() - started)


# --- HTTP ---------------------------------------------------------------------------------


class Client:
    """Keep-alive HTTP to one homeserver, one connection pool per thread."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session  # type: ignore[no-any-return]

    def call(self, method: str, path: str, token: str | None = None, body: Any = None, timeout: float = REQUEST_TIMEOUT_SECONDS) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.request(method, self.base_url + path, headers=headers, json=body, timeout=timeout)

    def ok(self, method: str, path: str, token: str | None = None, body: Any = None, timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict[str, Any]:
        answer = self.call(method, path, token, body, timeout)
        if answer.status_code != 200:
            raise BenchError(f"{method} {path.split('?')[0]}: {answer.status_code} {answer.text[:300]}")
        return dict(answer.json())


def client_path(path: str) -> str:
    return "/_matrix/client/v3" + path


def send_path(room_id: str) -> str:
    return client_path(f"/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}")


def register_with_secret(client: Client, secret: str, localpart: str, admin: bool = False) -> User:
    nonce = client.ok("GET", "/_synapse/admin/v1/register")["nonce"]
    password = "User-pass-1234"
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
    body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()}
    data = client.ok("POST", "/_synapse/admin/v1/register", body=body)
    return User(user_id=data["user_id"], password=password, access_token=data["access_token"])


class Mailbox:
    """The mail folder, read by several threads each waiting for its own recipient."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self._lock = threading.Lock()
        self._seen: set[Path] = set()
        self._waiting: dict[str, Any] = {}

    def link_for(self, address: str, marker: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for path in mail_files(self.mail_dir):
                    if path not in self._seen:
                        self._seen.add(path)
                        message = read_mail(path)
                        self._waiting[str(message["To"])] = message
                message = self._waiting.pop(address, None)
            if message is not None:
                return mail_link(message, marker)
            time.sleep(MAIL_POLL_SECONDS)
        raise BenchError(f"no mail to {address} within {timeout} s in {self.mail_dir}")


def register_by_email(client: Client, mailbox: Mailbox) -> float:
    """Element's flow: requestToken, follow the mailed link, register (401 then 200); seconds."""
    address = f"ukur{uuid.uuid4().hex[:10]}@jpa.gov.my"
    secret = uuid.uuid4().hex
    started = time.perf_counter()
    sid = client.ok("POST", client_path("/register/email/requestToken"), body={"email": address, "client_secret": secret, "send_attempt": 1})["sid"]
    link = mailbox.link_for(address, "submit_token")
    if client.session.get(link, timeout=REQUEST_TIMEOUT_SECONDS).status_code != 200:
        raise BenchError(f"the validation link for {address} was refused")
    body: dict[str, Any] = {"username": f"e{uuid.uuid4().hex[:10]}", "password": EMAIL_PASSWORD}
    first = client.call("POST", client_path("/register"), body=body)
    if first.status_code != 401:
        raise BenchError(f"first /register: {first.status_code} {first.text[:300]}")
    body["auth"] = {"type": "m.login.email.identity", "threepid_creds": {"sid": sid, "client_secret": secret}, "session": first.json()["session"]}
    client.ok("POST", client_path("/register"), body=body)
    return time.perf_counter() - started


# --- processes ----------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def process_name(pid: int) -> str | None:
    """The layout's name for a process GovChat starts; None for a child of one (backends, nginx workers)."""
    try:
        words = [word.decode(errors="replace") for word in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if word]
    except (FileNotFoundError, ProcessLookupError):
        return None
    if "synapse.app.homeserver" in words:
        return "main"
    if "synapse.app.generic_worker" in words:
        return Path(words[-1]).stem
    if any(word.endswith("/postgres") for word in words):
        return "postgresql"
    if any("redis-server" in word for word in words):  # Redis rewrites its own command line
        return "redis"
    if words and words[0].startswith("nginx: master"):
        return "nginx"
    return None


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return "?"


def process_groups(root: int) -> dict[int, str]:
    """Every process under `root` by PID, named for the layout's process it belongs to."""
    named: dict[int, str] = {}

    def visit(pid: int, inherited: str) -> None:
        name = process_name(pid) or (inherited if inherited != "launcher" or pid == root else f"other: {command_of(pid)}")
        named[pid] = name
        for child in children(pid):
            visit(child, name)

    visit(root, "launcher")
    return named


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])


def memory_kb(pid: int, path: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


@dataclass
class ProcessUse:
    count: int = 0
    rss_kb: int = 0
    pss_kb: int = 0
    cpu_seconds: float = 0.0


class ProcessMeter:
    """CPU seconds between `start` and `stop` and memory at `stop`, per process of the layout."""

    def __init__(self, root: int, others: dict[int, str]) -> None:
        self.root = root
        self.others = others  # processes of the layout outside root's tree, by PID
        self._ticks: dict[int, int] = {}
        self._client_cpu = 0.0
        self.use: dict[str, ProcessUse] = {}

    def start(self) -> None:
        self._ticks = {pid: cpu_ticks(pid) for pid in self.processes()}
        self._client_cpu = _own_cpu()

    def stop(self) -> None:
        self.use = {}
        for pid, name in self.processes().items():
            use = self.use.setdefault(name, ProcessUse())
            use.count += 1
            use.rss_kb += memory_kb(pid, "status", "VmRSS")
            use.pss_kb += memory_kb(pid, "smaps_rollup", "Pss")
            use.cpu_seconds += (cpu_ticks(pid) - self._ticks.get(pid, 0)) / CLK_TCK
        self.use["bench client (this process)"] = ProcessUse(1, 0, 0, _own_cpu() - self._client_cpu)


    def processes(self) -> dict[int, str]:
        return {**process_groups(self.root), **self.others}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- one layout ---------------------------------------------------------------------------


@dataclass
class Results:
    spec: LayoutSpec
    send_sequential: Timings = field(default_factory=Timings)
    send_pool: Timings = field(default_factory=Timings)
    register_secret: Timings = field(default_factory=Timings)
    register_email: Timings = field(default_factory=Timings)
    post_to_sync: Timings = field(default_factory=Timings)
    returned_to_sync: Timings = field(default_factory=Timings)
    health_direct: Timings = field(default_factory=Timings)
    health_proxy: Timings = field(default_factory=Timings)
    send_direct: Timings = field(default_factory=Timings)
    send_proxy: Timings = field(default_factory=Timings)
    send_writer: Timings = field(default_factory=Timings)
    use: dict[str, ProcessUse] = field(default_factory=dict)
    started_in: float = 0.0
    measured_for: float = 0.0
    load: tuple[float, float] = (math.nan, math.nan)  # 1-minute load average when the measured phase began and ended


def strip_every_module(config: dict[str, Any]) -> None:
    for entry in list(config.get("modules") or []):
        without_module(entry["module"])(config)


def free_port_block(span: int) -> int:
    """A first port with `span` free ports from it: the worker layout's metrics listen on metrics.port + 10 ... + 14,
    where a single free port (the harness's default) may collide with another server on a busy machine."""
    for _ in range(200):
        first = random.randrange(20_000, 60_000 - span)
        try:
            with ExitStack() as probes:
                for port in range(first, first + span):
                    probe = probes.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise BenchError(f"no {span} consecutive free ports on 127.0.0.1")


def make_server(spec: LayoutSpec, data_dir: Path) -> GovChatServer:
    settings = {**BASE_SETTINGS, **spec.settings}
    metrics_port = free_port_block(METRICS_PORT_SPAN)
    if spec.stock:
        return SynapseOnlyServer(data_dir=data_dir, settings=settings, metrics_port=metrics_port, adjust=strip_every_module)
    return GovChatServer(data_dir=data_dir, settings=settings, metrics_port=metrics_port)


# GovChat's local mail server as a process of its own, for stock Synapse: `govchat run` runs it
# beside GovChat, and in the bench's own process it would compete with the client threads.
# It stops when its stdin closes, so also when the bench dies.
MAIL_SERVER = """
import sys
from pathlib import Path
from govchat.mailserver import LocalMailServer
server = LocalMailServer(Path(sys.argv[1]), int(sys.argv[2]))
server.start()
sys.stdin.read()
server.stop()
"""


@contextmanager
def running(server: GovChatServer, stock: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """The server started (stock Synapse: with a mail server process, yielded), stopped afterwards whatever happens."""
    mail: subprocess.Popen[bytes] | None = None
    try:
        if stock:
            server.mail_dir.mkdir(parents=True, exist_ok=True)
            mail = subprocess.Popen([sys.executable, "-c", MAIL_SERVER, str(server.mail_dir), str(server.smtp_port)], stdin=subprocess.PIPE, cwd=REPO_ROOT)
            wait_for_port(server.smtp_port, mail)
        server.start()
        yield mail
    finally:
        server.stop()
        if mail is not None:
            assert mail.stdin is not None
            mail.stdin.close()
            try:
                mail.wait(timeout=10)
            except subprocess.TimeoutExpired:
                mail.kill()
                mail.wait()


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the mail server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"the mail server did not listen on port {port} within {timeout} s")


class Bench:
    def __init__(self, spec: LayoutSpec, server: GovChatServer, sizes: Sizes) -> None:
        self.spec = spec
        self.server = server
        self.sizes = sizes
        self.client = Client(server.base_url)
        self.results = Results(spec)
        self.secret = ""
        self.admin: User | None = None

    def run(self) -> Results:
        started = time.monotonic()
        with running(self.server, self.spec.stock) as mail:
            self.results.started_in = time.monotonic() - started
            assert self.server.process is not None
            self.secret = yaml.safe_load((self.server.data_dir / "secrets.yaml").read_text())["registration_shared_secret"]
            self.admin = register_with_secret(self.client, self.secret, f"admin-{uuid.uuid4().hex[:8]}", admin=True)
            senders, rooms = self.prepare_rooms()
            owner, members, channel = self.prepare_channel()
            self.settle([*senders, owner, *members])
            meter = ProcessMeter(self.server.process.pid, {mail.pid: "mail server"} if mail else {})
            load_before, measuring = os.getloadavg()[0], time.monotonic()
            meter.start()
            self.measure_sends(senders, rooms)
            self.measure_post_to_sync(owner, members, channel)
            self.measure_registrations()
            meter.stop()
            self.results.use = meter.use
            self.results.measured_for = time.monotonic() - measuring
            self.results.load = (load_before, os.getloadavg()[0])
            self.measure_hops(senders[0], rooms[0])
        return self.results

    def log(self, text: str) -> None:
        print(f"  {self.spec.key}: {text}", flush=True)

    # setup

    def user(self, prefix: str) -> User:
        return register_with_secret(self.client, self.secret, f"{prefix}-{uuid.uuid4().hex[:8]}")

    def prepare_rooms(self) -> tuple[list[User], list[str]]:
        senders = [self.user("pengirim") for _ in range(SENDERS)]
        invite = [user.user_id for user in senders[1:]]
        rooms = [self.client.ok("POST", client_path("/createRoom"), senders[0].access_token, {"preset": "private_chat", "invite": invite})["room_id"] for _ in range(ROOMS)]
        for room_id in rooms:
            for user in senders[1:]:
                self.client.ok("POST", client_path(f"/rooms/{quote(room_id)}/join"), user.access_token, {})
        return senders, rooms

    def prepare_channel(self) -> tuple[User, list[User], str]:
        owner = self.user("pemilik")
        members = [self.user("ahli") for _ in range(self.sizes.members)]
        if self.spec.stock:
            room_id = self.client.ok("POST", client_path("/createRoom"), owner.access_token, {"preset": "public_chat", "name": "Pengumuman"})["room_id"]
        else:
            assert self.admin is not None
            body = {"name": "Pengumuman Ujian", "alias": f"ujian-{uuid.uuid4().hex[:8]}", "topic": "Ujian", "owners": [owner.user_id]}
            room_id = self.client.ok("POST", CHANNELS_API, self.admin.access_token, body)["room_id"]
        for member in members:
            self.client.ok("POST", client_path(f"/join/{quote(room_id)}"), member.access_token, {})
        return owner, members, str(room_id)

    def settle(self, users: list[User]) -> None:
        """GovChat joins new users to INFO in the background: let those joins land before measuring."""
        if self.spec.stock:
            return
        info = ""
        deadline = time.monotonic() + INFO_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if not info:
                info = self.client.call("GET", client_path("/directory/room/" + quote("#info:" + self.server.server_name))).json().get("room_id", "")
            if info and all(info in self.client.ok("GET", client_path("/joined_rooms"), user.access_token)["joined_rooms"] for user in users):
                time.sleep(1)
                return
            time.sleep(0.2)
        raise BenchError(f"set-up users not in INFO after {INFO_DEADLINE_SECONDS} s; see {self.server.data_dir}")

    # measures

    def measure_sends(self, senders: list[User], rooms: list[str]) -> None:
        def send(number: int) -> float:
            user, room_id = senders[number % SENDERS], rooms[(number // SENDERS) % ROOMS]
            started = time.perf_counter()
            self.client.ok("PUT", send_path(room_id), user.access_token, {"msgtype": "m.text", "body": f"Mesej {number}"})
            return time.perf_counter() - started

        timed_pool(send, 10, 1)  # warm-up
        self.results.send_sequential = timed_pool(send, self.sizes.sends, 1)
        self.results.send_pool = timed_pool(send, self.sizes.sends, THREADS)
        self.log(f"send p50 {self.results.send_sequential.p(50):.1f} ms sequential, {self.results.send_pool.p(50):.1f} ms with {THREADS} threads")

    def measure_post_to_sync(self, owner: User, members: list[User], room_id: str) -> None:
        arrivals: dict[str, dict[str, float]] = {}
        lock = threading.Lock()
        stop = threading.Event()
        ready = threading.Barrier(len(members) + 1, timeout=REQUEST_TIMEOUT_SECONDS)
        failures: list[str] = []

        def follow(member: User) -> None:
            client = Client(self.server.base_url)
            try:
                token = client.ok("GET", client_path(f"/sync?filter={LAZY_SYNC_FILTER}&timeout=0"), member.access_token)["next_batch"]
                ready.wait()
                while not stop.is_set():
                    path = client_path(f"/sync?filter={LAZY_SYNC_FILTER}&timeout={SYNC_POLL_MS}&since={token}")
                    answer = client.ok("GET", path, member.access_token, timeout=SYNC_POLL_MS / 1000 + REQUEST_TIMEOUT_SECONDS)
                    now = time.perf_counter()
                    token = answer["next_batch"]
                    events = answer.get("rooms", {}).get("join", {}).get(room_id, {}).get("timeline", {}).get("events", [])
                    with lock:
                        for event in events:
                            body = event.get("content", {}).get("body", "")
                            if body in arrivals:
                                arrivals[body].setdefault(member.user_id, now)
            except Exception as error:  # reported by the main thread, which stops waiting
                failures.append(f"{member.user_id}: {error}")
                stop.set()

        threads = [threading.Thread(target=follow, args=(member,), daemon=True) for member in members]
        for thread in threads:
            thread.start()
        total, after_send = Timings(), Timings()
        try:
            ready.wait()
            for number in range(self.sizes.posts + 1):  # the first post is a warm-up
                time.sleep(POST_GAP_SECONDS)
                body = f"Pekeliling {number} {uuid.uuid4().hex}"
                with lock:
                    arrivals[body] = {}
                started = time.perf_counter()
                self.client.ok("PUT", send_path(room_id), owner.access_token, {"msgtype": "m.text", "body": body})
                returned = time.perf_counter()
                deadline = time.monotonic() + POST_DEADLINE_SECONDS
                while len(arrivals[body]) < len(members):
                    if failures or time.monotonic() > deadline:
                        raise BenchError(f"post {number} reached {len(arrivals[body])} of {len(members)} members' /sync; {failures[:1]}")
                    time.sleep(0.002)
                if number:
                    total.latencies += [at - started for at in arrivals[body].values()]
                    after_send.latencies += [at - returned for at in arrivals[body].values()]
        finally:
            stop.set()
            ready.abort()
            for thread in threads:
                thread.join(timeout=SYNC_POLL_MS / 1000 + REQUEST_TIMEOUT_SECONDS)
        self.results.post_to_sync, self.results.returned_to_sync = total, after_send
        self.log(f"post -> sync p50 {total.p(50):.1f} ms")

    def measure_registrations(self) -> None:
        def by_secret(number: int) -> float:
            started = time.perf_counter()
            register_with_secret(self.client, self.secret, f"daftar-{uuid.uuid4().hex[:12]}")
            return time.perf_counter() - started

        mailbox = Mailbox(self.server.mail_dir)
        self.results.register_secret = timed_pool(by_secret, self.sizes.registrations, THREADS)
        self.results.register_email = timed_pool(lambda _: register_by_email(self.client, mailbox), self.sizes.email_registrations, THREADS)
        self.log(f"{self.results.register_secret.rate:.1f} registrations/s (shared secret), {self.results.register_email.rate:.1f}/s (e-mail)")

    def measure_hops(self, user: User, room_id: str) -> None:
        """The same requests straight to Synapse listeners and through the port users reach (nginx on the worker layout)."""
        port = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=REQUEST_TIMEOUT_SECONDS)
        connections: dict[str, http.client.HTTPConnection] = {"port": port}
        if self.server.uses_workers:
            run = self.server.data_dir / "run"
            connections["main"] = UnixHTTPConnection(run / "main.sock", timeout=REQUEST_TIMEOUT_SECONDS)
            connections["client1"] = UnixHTTPConnection(run / "client1.sock", timeout=REQUEST_TIMEOUT_SECONDS)
            connections["stream_writer"] = UnixHTTPConnection(run / "stream_writer.sock", timeout=REQUEST_TIMEOUT_SECONDS)
        headers = {"Authorization": f"Bearer {user.access_token}", "Content-Type": "application/json"}
        r = self.results
        try:
            # Interleaved, so drift on the machine hits each path alike.
            for _ in range(self.sizes.probes):
                r.health_proxy.latencies.append(timed_request(port, "GET", "/health"))
                if "main" in connections:
                    r.health_direct.latencies.append(timed_request(connections["main"], "GET", "/health"))
            for number in range(self.sizes.probes // 3):
                body = json.dumps({"msgtype": "m.text", "body": f"Ukur {number}"})
                r.send_proxy.latencies.append(timed_request(port, "PUT", send_path(room_id), body, headers))
                if "client1" in connections:
                    r.send_direct.latencies.append(timed_request(connections["client1"], "PUT", send_path(room_id), body, headers))
                    r.send_writer.latencies.append(timed_request(connections["stream_writer"], "PUT", send_path(room_id), body, headers))
        finally:
            for connection in connections.values():
                connection.close()


def timed_request(connection: http.client.HTTPConnection, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    answer.read()
    elapsed = time.perf_counter() - started
    if answer.status != 200:
        raise BenchError(f"{method} {path}: {answer.status}")
    return elapsed


# --- clean-up -----------------------------------------------------------------------------


def outside_cluster(data_dir: Path) -> Path | None:
    """The PostgreSQL cluster GovChat keeps outside the data folder when it runs as root."""
    link = data_dir / "postgres"
    return Path(os.readlink(link)) if link.is_symlink() else None


# --- report -------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def print_report(results: list[Results], sizes: Sizes) -> None:
    print()
    print(f"Loopback, {os.cpu_count()} cores, latencies in ms. Conditions:")
    print()
    print("| layout | started in | measured phase | load average (1 min) at its start / end |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r.spec.label} | {r.started_in:.0f} s | {r.measured_for:.0f} s | {r.load[0]:.1f} / {r.load[1]:.1f} |")
    print()
    print(f"### Message send ({SENDERS} users, {ROOMS} private rooms)")
    print()
    print(f"| layout | sequential p50 | sequential p99 | {THREADS} threads p50 | {THREADS} threads p99 | {THREADS} threads msg/s | n (each) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r.spec.label} | {ms(r.send_sequential.p(50))} | {ms(r.send_sequential.p(99))} | {ms(r.send_pool.p(50))} | {ms(r.send_pool.p(99))} | {r.send_pool.rate:.1f} | {len(r.send_sequential.latencies)} |")
    print()
    print(f"### Registration ({THREADS} threads)")
    print()
    print("| layout | shared secret /s | p50 | p99 | n | e-mail flow /s | p50 | p99 | n |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        s, e = r.register_secret, r.register_email
        print(f"| {r.spec.label} | {s.rate:.1f} | {ms(s.p(50))} | {ms(s.p(99))} | {len(s.latencies)} | {e.rate:.1f} | {ms(e.p(50))} | {ms(e.p(99))} | {len(e.latencies)} |")
    print()
    print(f"### Owner post -> members' next /sync ({sizes.members} members long-polling, {sizes.posts} posts)")
    print()
    print("| layout | from send p50 | from send p99 | after send returned p50 | after send returned p99 | n |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        t, a = r.post_to_sync, r.returned_to_sync
        print(f"| {r.spec.label} | {ms(t.p(50))} | {ms(t.p(99))} | {ms(a.p(50))} | {ms(a.p(99))} | {len(t.latencies)} |")
    print()
    print("### Where a request goes (one keep-alive connection each, interleaved; worker layout only: straight to a process's socket)")
    print()
    print("| layout | GET /health via port | /health main.sock | /health n | send via port | send client1.sock | send stream_writer.sock | send n |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.spec.label} | {ms(r.health_proxy.p(50))} | {ms(r.health_direct.p(50))} | {len(r.health_proxy.latencies)} "
            f"| {ms(r.send_proxy.p(50))} | {ms(r.send_direct.p(50))} | {ms(r.send_writer.p(50))} | {len(r.send_proxy.latencies)} |"
        )
    print_process_table(results)
    print()
    print(where_the_cost_goes(results))


def print_process_table(results: list[Results]) -> None:
    names: list[str] = []
    for r in results:
        names += [name for name in r.use if name not in names]
    names.sort(key=lambda name: (name == "bench client (this process)", name not in ("launcher", "main"), name != "launcher", name))
    print()
    print("### Memory (MB at the end: RSS / PSS; processes summed where there are several) and CPU seconds over the measured phase")
    print()
    print("| process | " + " | ".join(r.spec.key for r in results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for name in names:
        cells = []
        for r in results:
            use = r.use.get(name)
            if use is None:
                cells.append("")
            elif name.startswith("bench client"):
                cells.append(f"{use.cpu_seconds:.1f} s")
            else:
                count = f" ({use.count})" if use.count > 1 else ""
                cells.append(f"{use.rss_kb / 1024:.0f} / {use.pss_kb / 1024:.0f} MB{count}, {use.cpu_seconds:.1f} s")
        print(f"| {name} | " + " | ".join(cells) + " |")
    totals = [f"{server_side(r, 'rss_kb') / 1024:.0f} / {server_side(r, 'pss_kb') / 1024:.0f} MB, {server_side(r, 'cpu_seconds'):.1f} s" for r in results]
    print("| **total (server side)** | " + " | ".join(totals) + " |")


def server_side(result: Results, what: str) -> float:
    return float(sum(getattr(use, what) for name, use in result.use.items() if not name.startswith("bench client")))


def where_the_cost_goes(results: list[Results]) -> str:
    by_key = {r.spec.key: r for r in results}
    sentences = []

    def delta(label: str, base: float, other: float) -> str:
        return f"{label} {other - base:+.1f} ms ({base:.1f} -> {other:.1f})"

    if "stock" in by_key and "sqlite" in by_key:
        stock, sqlite = by_key["stock"], by_key["sqlite"]
        sentences.append(
            "GovChat's modules on one SQLite process against stock Synapse: "
            + delta("send p50", stock.send_sequential.p(50), sqlite.send_sequential.p(50))
            + ", "
            + delta("post -> sync p50", stock.post_to_sync.p(50), sqlite.post_to_sync.p(50))
            + f", shared-secret registrations {stock.register_secret.rate:.1f} -> {sqlite.register_secret.rate:.1f}/s"
            + f" (GovChat also joins each new user to INFO, in the background), e-mail flow {stock.register_email.rate:.1f} -> {sqlite.register_email.rate:.1f}/s."
        )
    if "sqlite" in by_key and "postgresql" in by_key:
        sqlite, pg = by_key["sqlite"], by_key["postgresql"]
        sentences.append(
            "PostgreSQL instead of SQLite, one process: "
            + delta("send p50", sqlite.send_sequential.p(50), pg.send_sequential.p(50))
            + f"; with {THREADS} threads {sqlite.send_pool.rate:.1f} -> {pg.send_pool.rate:.1f} msg/s."
        )
    if "postgresql" in by_key and "workers" in by_key:
        pg, workers = by_key["postgresql"], by_key["workers"]
        sentences.append(
            "Worker layout against one process on the same PostgreSQL: "
            + delta("send p50", pg.send_sequential.p(50), workers.send_sequential.p(50))
            + f" ({THREADS} threads: {pg.send_pool.rate:.1f} -> {workers.send_pool.rate:.1f} msg/s). "
            + "Along the path of one send (p50, probes): straight to the stream writer, which persists events itself, "
            + f"{workers.send_writer.p(50):.1f} ms; to a client worker's socket, which hands the event to the stream writer "
            + f"over replication HTTP, {workers.send_direct.p(50):.1f} ms; through nginx {workers.send_proxy.p(50):.1f} ms. "
            + f"nginx on GET /health: {workers.health_proxy.p(50):.2f} ms against {workers.health_direct.p(50):.2f} ms on main's socket. "
            + "Post to members' /sync after the owner's send returned (p50), i.e. notifying the sync workers: "
            + f"{pg.returned_to_sync.p(50):.1f} ms in one process, {workers.returned_to_sync.p(50):.1f} ms across workers over Redis replication; "
            + delta("post -> sync p50 overall", pg.post_to_sync.p(50), workers.post_to_sync.p(50))
            + "."
        )
        sentences.append(
            f"Memory: {server_side(pg, 'rss_kb') / 1024:.0f} MB RSS ({server_side(pg, 'pss_kb') / 1024:.0f} MB PSS) for one process with its "
            f"PostgreSQL, {server_side(workers, 'rss_kb') / 1024:.0f} MB ({server_side(workers, 'pss_kb') / 1024:.0f} MB PSS) for the worker "
            "layout: each Synapse process loads all of Synapse and every GovChat module, and each holds its own PostgreSQL connections."
        )
    if results:
        cpu = ", ".join(f"{r.spec.key} {server_side(r, 'cpu_seconds'):.1f} s" for r in results)
        sentences.append(
            f"CPU seconds the server side spent on the same measured requests: {cpu}."
        )
    return "**Where the cost goes** (computed from this run). " + " ".join(sentences)


# --- main ---------------------------------------------------------------------------------


def remove_scratch(scratch: Path, clusters: list[Path], keep: bool) -> None:
    """A bench's data directories and the PostgreSQL clusters kept outside them removed, or named if kept."""
    if keep:
        print(f"kept {scratch} " + " ".join(str(cluster) for cluster in clusters), flush=True)
        return
    shutil.rmtree(scratch, ignore_errors=True)
    for cluster in clusters:
        shutil.rmtree(cluster, ignore_errors=True)


def parse_bench_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments of a bench that chooses its layouts itself."""
    arguments = parser.parse_args()
    if harness.LAYOUT != "single":
        parser.error("unset GOVCHAT_TEST_LAYOUT: the bench chooses each layout itself")
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the server under test is stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small samples, a couple of minutes in all")
    parser.add_argument("--only", default=",".join(spec.key for spec in LAYOUTS), help="comma-separated layouts to run, in this order")
    parser.add_argument("--keep", action="store_true", help="keep the data directories (logs) and PostgreSQL clusters")
    arguments = parse_bench_arguments(parser)
    specs = {spec.key: spec for spec in LAYOUTS}
    wanted = [key.strip() for key in arguments.only.split(",") if key.strip()]
    unknown = [key for key in wanted if key not in specs]
    if unknown:
        parser.error(f"unknown layout {unknown[0]!r}; choose from {', '.join(specs)}")
    sizes = QUICK if arguments.quick else FULL
    scratch = Path(tempfile.mkdtemp(prefix="govchat-scale-out-bench-"))
    print(f"data directories under {scratch}", flush=True)
    results: list[Results] = []
    clusters: list[Path] = []
    keep = arguments.keep
    try:
        for key in wanted:
            spec = specs[key]
            server = make_server(spec, scratch / key)
            print(f"{spec.label}: starting", flush=True)
            try:
                results.append(Bench(spec, server, sizes).run())
            finally:
                cluster = outside_cluster(server.data_dir)
                if cluster is not None:
                    clusters.append(cluster)
            print(f"  {key}: started in {results[-1].started_in:.0f} s, stopped", flush=True)
    except Exception:
        keep = True  # the logs say what went wrong; an interruption (Ctrl-C, SIGTERM) removes everything
        raise
    finally:
        remove_scratch(scratch, clusters, keep)
    print_report(results, sizes)


if __name__ == "__main__":
    main()
