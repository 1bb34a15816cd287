"""The load test's orchestration: one layout started, staff and rooms set up, Locust stepping the offered message
rate until the server stops keeping up, and the tables. Imported by bench/load_test.py only once Locust is known to
be installed; importing Locust first lets gevent patch the standard library before anything else uses it."""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gevent
import yaml
from locust.env import Environment
from locust.event import Events

from bench import load_users
from bench.load_steps import (
    LATE_P99_LIMIT_MS,
    SEND_P99_LIMIT_MS,
    StepOutcome,
    last_good_step,
    step_verdict,
    task_rate_per_user,
)
from bench.load_users import (
    DELIVERY,
    INFO_DELIVERY,
    LATENESS,
    MESSAGE_SHARE,
    SEND_NAMES,
    SYNC,
    Account,
    InfoOwner,
    LoadPlan,
    StaffMember,
)
from bench.metrics_delta import BACKGROUND_CPU, DB_TXN_TIME, SERVLET_COUNT, SERVLET_CPU, Samples, growth, scrape, top
from bench.scale_out_bench import (
    CHANNELS_API,
    CLK_TCK,
    LAYOUTS,
    QUICK,
    Bench,
    LayoutSpec,
    ProcessMeter,
    ProcessUse,
    client_path,
    make_server,
    ms,
    percentile,
    register_with_secret,
    running,
)
from bench.synapse_only import BenchError
from govchat.layout import worker_layout
from tests.harness import User

GROUP_SIZE = 8
LOGIN_DEADLINE_SECONDS = 180
WARMUP_SECONDS = 15
SPAWN_PER_SECOND = 10
TOP = 3
ENCRYPTED = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
CLIENT = "bench client (this process)"
NOT_REQUESTS = (DELIVERY, INFO_DELIVERY, LATENESS)

SPECS = {"single": next(spec for spec in LAYOUTS if spec.key == "sqlite"), "workers": next(spec for spec in LAYOUTS if spec.key == "workers")}


# --- what one step saw ----------------------------------------------------------------------


class Recorder:
    """Latencies (seconds) and failures per request name, for the step under way."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.failures: dict[str, int] = {}
        self.last_error = ""

    def reset(self) -> None:
        self.latencies, self.failures = {}, {}

    def add(self, name: str, seconds: float, ok: bool) -> None:
        if ok:
            self.latencies.setdefault(name, []).append(seconds)
        else:
            self.failures[name] = self.failures.get(name, 0) + 1

    def on_request(self, name: str, response_time: float, exception: BaseException | None = None, **_: Any) -> None:
        self.add(name, response_time / 1000, exception is None)
        if exception is not None:
            self.last_error = f"{name}: {exception}"

    def on_user_error(self, user_instance: Any, exception: BaseException, tb: Any) -> None:
        self.add(f"{type(user_instance).__name__} error", 0.0, False)
        self.last_error = f"{type(user_instance).__name__}: {exception!r}"


@dataclass
class ProcessCost:
    cpu_seconds: float
    servlets: list[tuple[str, float]]  # servlet -> CPU seconds
    requests: int
    transactions: list[tuple[str, float]]  # transaction name -> seconds in the database
    background: list[tuple[str, float]]  # background process -> CPU seconds


@dataclass
class Step:
    offered_rate: float
    seconds: float
    latencies: dict[str, list[float]]
    failures: dict[str, int]
    last_error: str
    use: dict[str, ProcessUse]
    costs: dict[str, ProcessCost]
    load: tuple[float, float]
    machine_cpu: float  # CPU seconds every process on the machine used during the step

    def p(self, name: str | tuple[str, ...], q: float) -> float:
        names = (name,) if isinstance(name, str) else name
        return percentile([value for each in names for value in self.latencies.get(each, [])], q) * 1000

    @property
    def sent(self) -> int:
        return sum(len(self.latencies.get(name, [])) for name in SEND_NAMES)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def outcome(self) -> StepOutcome:
        return StepOutcome(self.offered_rate, self.sent / self.seconds, self.p(SEND_NAMES, 99), self.errors, self.p(LATENESS, 99))

    def server_cpu(self) -> float:
        return sum(use.cpu_seconds for name, use in self.use.items() if name != CLIENT)

    def server_cpu_per_message(self) -> float:
        """Server CPU seconds over the step per message sent: everything the server did (syncs, receipts, INFO,
        GCMeet, its own background work) charged to the messages."""
        return self.server_cpu() / self.sent if self.sent else math.nan

    def others_cpu(self) -> float:
        """CPU seconds of work on the machine that is neither this GovChat nor the load test (the machine is shared)."""
        return self.machine_cpu - self.server_cpu() - self.use.get(CLIENT, ProcessUse()).cpu_seconds


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (every core, every process), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / CLK_TCK


@dataclass
class LayoutRun:
    spec: LayoutSpec
    users: int
    started_in: float = 0.0
    steps: list[Step] = field(default_factory=list)

    @property
    def good(self) -> Step | None:
        index = last_good_step(step.outcome for step in self.steps)
        return None if index is None else self.steps[index]


# --- one layout ---------------------------------------------------------------------------


def metrics_ports(spec: LayoutSpec, server: Any) -> dict[str, int]:
    clients = int(spec.settings.get("workers", {}).get("client", 0))
    if not clients:
        return {"main": server.metrics_port}
    layout = worker_layout(server.data_dir / "run", clients, server.metrics_port, federation=False)
    return {process.name: process.metrics_port for process in layout.processes}


def scrape_all(ports: dict[str, int]) -> dict[str, Samples]:
    try:
        return {name: scrape(port) for name, port in ports.items()}
    except Exception as error:
        raise BenchError(f"could not read Synapse's metrics: {error}") from error


def costs_between(before: dict[str, Samples], after: dict[str, Samples], use: dict[str, ProcessUse]) -> dict[str, ProcessCost]:
    costs = {}
    for name in after:
        a, b = after[name], before.get(name, {})
        costs[name] = ProcessCost(
            cpu_seconds=use[name].cpu_seconds if name in use else math.nan,
            servlets=top(growth(b, a, SERVLET_CPU, "servlet"), TOP),
            requests=round(sum(growth(b, a, SERVLET_COUNT, "servlet").values())),
            transactions=top(growth(b, a, DB_TXN_TIME, "desc"), TOP),
            background=top(growth(b, a, BACKGROUND_CPU, "name"), TOP),
        )
    return costs


class LoadTest:
    def __init__(self, spec: LayoutSpec, data_dir: Path, users: int, rates: list[float], seconds: float) -> None:
        self.spec, self.users, self.rates, self.seconds = spec, users, rates, seconds
        self.server = make_server(spec, data_dir)
        self.bench = Bench(spec, self.server, QUICK)  # its registration, INFO wait and HTTP client
        self.run_result = LayoutRun(spec, users)

    def log(self, text: str) -> None:
        print(f"  {self.spec.key}: {text}", flush=True)

    def run(self) -> LayoutRun:
        started = time.monotonic()
        with running(self.server, False):
            self.run_result.started_in = time.monotonic() - started
            self.bench.secret = yaml.safe_load((self.server.data_dir / "secrets.yaml").read_text())["registration_shared_secret"]
            plan = self.prepare()
            self.drive(plan)
        return self.run_result

    def prepare(self) -> LoadPlan:
        client = self.bench.client
        self.bench.admin = register_with_secret(client, self.bench.secret, "pentadbir-beban", admin=True)
        staff = [self.bench.user("staf") for _ in range(self.users)]
        owner = self.bench.user("pemilik-info")
        members: dict[str, tuple[str, ...]] = {}
        direct: dict[str, list[str]] = {user.user_id: [] for user in staff}
        for number, user in enumerate(staff):  # a ring: everyone has a direct room with the next colleague and the previous one
            other = staff[(number + 1) % len(staff)]
            room_id = self.create_room(user, [other], {"preset": "trusted_private_chat", "is_direct": True})
            members[room_id] = (user.user_id, other.user_id)
            direct[user.user_id].append(room_id)
            direct[other.user_id].append(room_id)
        group: dict[str, list[str]] = {user.user_id: [] for user in staff}
        for first in range(0, len(staff), GROUP_SIZE):
            people = staff[first : first + GROUP_SIZE]
            room_id = self.create_room(people[0], people[1:], {"preset": "private_chat", "name": f"Unit {first // GROUP_SIZE + 1}"})
            members[room_id] = tuple(user.user_id for user in people)
            for user in people:
                group[user.user_id].append(room_id)
        info = client.ok("GET", client_path("/directory/room/" + quote("#info:" + self.server.server_name)))["room_id"]
        assert self.bench.admin is not None
        client.ok("POST", f"{CHANNELS_API}/{quote(info)}/owners", self.bench.admin.access_token, {"user_id": owner.user_id})
        self.bench.settle([*staff, owner])
        self.log(f"{len(staff)} staff, {len(staff)} direct and {len(range(0, len(staff), GROUP_SIZE))} group rooms (encrypted), an INFO owner")
        accounts = [Account(user.user_id, user.password, tuple(direct[user.user_id]), tuple(group[user.user_id])) for user in staff]
        return LoadPlan(staff=accounts, owner=Account(owner.user_id, owner.password), info_room_id=info, members=members)

    def create_room(self, creator: User, invited: list[User], options: dict[str, Any]) -> str:
        client = self.bench.client
        body = {**options, "invite": [user.user_id for user in invited], "initial_state": ENCRYPTED}
        room_id = str(client.ok("POST", client_path("/createRoom"), creator.access_token, body)["room_id"])
        for user in invited:
            client.ok("POST", client_path(f"/rooms/{quote(room_id)}/join"), user.access_token, {})
        return room_id

    def drive(self, plan: LoadPlan) -> None:
        assert self.server.process is not None
        recorder = Recorder()
        plan.record = recorder.add
        load_users.PLAN = plan
        environment = Environment(user_classes=[StaffMember, InfoOwner], host=self.server.base_url, events=Events())
        environment.events.request.add_listener(recorder.on_request)
        environment.events.user_error.add_listener(recorder.on_user_error)
        runner = environment.create_local_runner()
        ports = metrics_ports(self.spec, self.server)
        meter = ProcessMeter(self.server.process.pid, {})
        try:
            plan.pace(task_rate_per_user(self.rates[0], self.users, MESSAGE_SHARE))
            runner.start(self.users + 1, spawn_rate=SPAWN_PER_SECOND)
            deadline = time.monotonic() + LOGIN_DEADLINE_SECONDS
            while plan.logged_in < self.users + 1:
                if time.monotonic() > deadline or recorder.failures:
                    raise BenchError(f"{plan.logged_in} of {self.users + 1} simulated users logged in; {recorder.last_error}; see {self.server.data_dir}")
                gevent.sleep(0.2)
            self.log(f"all logged in and following /sync; warming up {WARMUP_SECONDS} s")
            gevent.sleep(WARMUP_SECONDS)
            for rate in self.rates:
                plan.pace(task_rate_per_user(rate, self.users, MESSAGE_SHARE))
                recorder.reset()
                load_before = os.getloadavg()[0]
                before = scrape_all(ports)
                busy = machine_busy_seconds()
                meter.start()
                began = time.monotonic()
                gevent.sleep(self.seconds)
                latencies, failures, seconds = recorder.latencies, recorder.failures, time.monotonic() - began
                recorder.reset()
                meter.stop()
                busy = machine_busy_seconds() - busy
                after = scrape_all(ports)
                costs = costs_between(before, after, meter.use)
                step = Step(rate, seconds, latencies, failures, recorder.last_error, meter.use, costs, (load_before, os.getloadavg()[0]), busy)
                self.run_result.steps.append(step)
                verdict = step_verdict(step.outcome)
                self.log(
                    f"offered {rate:g} msg/s: sent {step.outcome.achieved_rate:.1f}/s, send p50 {ms(step.p(SEND_NAMES, 50))} p99 {ms(step.p(SEND_NAMES, 99))} ms, "
                    f"delivery p99 {ms(step.p(DELIVERY, 99))} ms, {step.errors} errors -> {verdict or 'sustained'}"
                )
                if verdict:
                    if step.errors:
                        self.log(f"last error: {step.last_error}")
                    break
        finally:
            runner.quit()
            gevent.killall(plan.sync_loops, block=True, timeout=10)
            load_users.PLAN = None


# --- report -------------------------------------------------------------------------------


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.machine())
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    return f"{platform.node()}: {os.cpu_count()} cores ({model}), {memory / 1024:.1f} GB RAM, Linux {platform.release()}"


def print_report(runs: list[LayoutRun], seconds: float) -> None:
    print()
    print(f"Load test, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}; loopback; steps of {seconds:g} s.")
    print(
        f"Sustained = the last step (in order) with send p99 under {SEND_P99_LIMIT_MS:.0f} ms, no failed request "
        f"and the simulated staff on schedule (p99 of how late an action started under {LATE_P99_LIMIT_MS:.0f} ms)."
    )
    print()
    print("| layout | simulated staff | sustained msg/s (offered / sent) | send p50 | send p99 | send -> /sync p50 | send -> /sync p99 | INFO post -> /sync p99 | errors | first step over | why |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for run in runs:
        good, over = run.good, next((step for step in run.steps if step_verdict(step.outcome)), None)
        cells = ["-"] * 7 if good is None else [
            f"{good.offered_rate:g} / {good.outcome.achieved_rate:.1f}", ms(good.p(SEND_NAMES, 50)), ms(good.p(SEND_NAMES, 99)),
            ms(good.p(DELIVERY, 50)), ms(good.p(DELIVERY, 99)), ms(good.p(INFO_DELIVERY, 99)), str(good.errors),
        ]
        why = "none over (raise --rates)" if over is None else f"{over.offered_rate:g} msg/s | {step_verdict(over.outcome)}"
        print(f"| {run.spec.label} | {run.users} | " + " | ".join(cells) + f" | {why} |")
    for run in runs:
        print_steps(run)
        focus = run.good or (run.steps[0] if run.steps else None)
        if focus is not None:
            label = "the last sustained step" if run.good else "the first step (none sustained)"
            print_requests(run, focus, label)
            print_costs(run, focus, label)


def print_steps(run: LayoutRun) -> None:
    print()
    print(f"### {run.spec.label}: steps (latencies in ms; CPU seconds over the step)")
    print()
    print("| offered msg/s | sent msg/s | send p50 | send p99 | send -> /sync p50 | p99 | late p99 | requests | errors | server CPU s | server CPU ms per msg | client CPU s | other work CPU s | load avg start / end | verdict |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for step in run.steps:
        client = step.use.get(CLIENT, ProcessUse()).cpu_seconds
        requests = sum(len(values) for name, values in step.latencies.items() if name not in NOT_REQUESTS)
        print(
            f"| {step.offered_rate:g} | {step.outcome.achieved_rate:.1f} | {ms(step.p(SEND_NAMES, 50))} | {ms(step.p(SEND_NAMES, 99))} "
            f"| {ms(step.p(DELIVERY, 50))} | {ms(step.p(DELIVERY, 99))} | {ms(step.p(LATENESS, 99))} | {requests} | {step.errors} | {step.server_cpu():.1f} | {step.server_cpu_per_message() * 1000:.0f} | {client:.1f} | {step.others_cpu():.1f} "
            f"| {step.load[0]:.1f} / {step.load[1]:.1f} | {step_verdict(step.outcome) or 'sustained'} |"
        )


def print_requests(run: LayoutRun, step: Step, label: str) -> None:
    print()
    print(f"### {run.spec.label}: each kind of request at {label} ({step.offered_rate:g} msg/s offered)")
    print()
    print("| request | n | p50 ms | p99 ms | failed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in sorted(set(step.latencies) | set(step.failures)):
        shown = "n/a (long-poll: idle until something arrives)" if name == SYNC else f"{ms(step.p(name, 50))} | {ms(step.p(name, 99))}"
        if name == SYNC:
            shown = f"{shown} | -"
        print(f"| {name} | {len(step.latencies.get(name, []))} | {shown} | {step.failures.get(name, 0)} |")


def print_costs(run: LayoutRun, step: Step, label: str) -> None:
    print()
    print(f"### {run.spec.label}: where the time goes at {label} (Synapse's metrics per process, difference over the step)")
    print()
    print("| process | CPU s (/proc) | HTTP requests | servlets by CPU s | database transactions by s | background processes by CPU s |")
    print("| --- | ---: | ---: | --- | --- | --- |")

    def listed(pairs: list[tuple[str, float]]) -> str:
        return ", ".join(f"{name} {amount:.1f}" for name, amount in pairs) or "-"

    for name, cost in step.costs.items():
        print(f"| {name} | {cost.cpu_seconds:.1f} | {cost.requests} | {listed(cost.servlets)} | {listed(cost.transactions)} | {listed(cost.background)} |")
    others = {name: use for name, use in step.use.items() if name not in step.costs}
    for name, use in sorted(others.items()):
        print(f"| {name} | {use.cpu_seconds:.1f} | | | | |")
