"""Edit window: message send and edit latency, GovChat Synapse against the same Synapse without the module.

Starts two homeservers on loopback from the same rendered GovChat config; the
second one's homeserver.yaml has the edit_window module stripped (everything
else, other GovChat modules included, is identical). Rounds alternate between
the two so drift on the machine hits both alike. In each round one user sends
messages one after the other, then edits each of them (inside the window, so
every edit is accepted and fully checked).

    .venv/bin/python -m bench.edit_window_bench [--rounds 10] [--per-round 50]

Targets: at most 5 % overhead on send, 10 % on edit (p50).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.synapse_only import SynapseOnlyServer, without_module

EDIT_WINDOW_MODULE = "synapse_modules.edit_window.EditWindow"
TARGETS = {"send": 1.05, "edit": 1.10}


@dataclass
class Subject:
    name: str
    server: SynapseOnlyServer
    session: requests.Session = field(default_factory=requests.Session)
    room_id: str = ""
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"send": [], "edit": []})

    def prepare(self) -> None:
        user = self.server.register_plain_user()
        self.session.headers["Authorization"] = f"Bearer {user.access_token}"
        answer = self.session.post(f"{self.server.base_url}/_matrix/client/v3/createRoom", json={"preset": "private_chat"})
        answer.raise_for_status()
        self.room_id = str(answer.json()["room_id"])

    def send(self, content: dict[str, object]) -> tuple[str, float]:
        url = f"{self.server.base_url}/_matrix/client/v3/rooms/{self.room_id}/send/m.room.message/{uuid.uuid4().hex}"
        started = time.perf_counter()
        answer = self.session.put(url, json=content, timeout=30)
        elapsed_ms = (time.perf_counter() - started) * 1000
        answer.raise_for_status()
        return str(answer.json()["event_id"]), elapsed_ms

    def round(self, count: int, record: bool) -> None:
        originals = []
        for number in range(count):
            event_id, elapsed = self.send({"msgtype": "m.text", "body": f"Mesej {number}"})
            originals.append(event_id)
            if record:
                self.latencies["send"].append(elapsed)
        for event_id in originals:
            new = {"msgtype": "m.text", "body": "Mesej dipinda"}
            edit = {**new, "body": "* Mesej dipinda", "m.new_content": new, "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}
            _, elapsed = self.send(edit)
            if record:
                self.latencies["edit"].append(elapsed)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def table(stock: Subject, govchat: Subject) -> str:
    header = f"{'operation':<10}{'stock p50':>11}{'GovChat p50':>13}{'ratio':>7}{'stock p99':>11}{'GovChat p99':>13}{'ratio':>7}{'target':>8}  n"
    lines = [header, "-" * len(header)]
    for operation, target in TARGETS.items():
        ours, theirs = govchat.latencies[operation], stock.latencies[operation]
        p50s = statistics.median(theirs), statistics.median(ours)
        p99s = percentile(theirs, 0.99), percentile(ours, 0.99)
        lines.append(
            f"{operation:<10}{p50s[0]:>9.2f}ms{p50s[1]:>11.2f}ms{p50s[1] / p50s[0]:>7.2f}"
            f"{p99s[0]:>9.2f}ms{p99s[1]:>11.2f}ms{p99s[1] / p99s[0]:>7.2f}{target:>8.2f}  {len(ours)}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    arguments = parser.parse_args()
    rounds = max(1, min(arguments.rounds, 100))
    per_round = max(1, min(arguments.per_round, 500))
    with tempfile.TemporaryDirectory(prefix="edit-window-bench-") as scratch:
        subjects = [
            Subject("stock", SynapseOnlyServer(data_dir=Path(scratch) / "stock", adjust=without_module(EDIT_WINDOW_MODULE))),
            Subject("GovChat", SynapseOnlyServer(data_dir=Path(scratch) / "govchat")),
        ]
        try:
            for subject in subjects:
                subject.server.start()
                subject.prepare()
                subject.round(per_round, record=False)  # warm-up: caches, JIT-free but connection and DB warm
            for number in range(rounds):
                for subject in subjects if number % 2 == 0 else reversed(subjects):
                    subject.round(per_round, record=True)
        finally:
            for subject in subjects:
                subject.server.stop()
    stock, govchat = subjects
    print(f"Edit window overhead, {rounds} rounds x {per_round} sends + {per_round} edits per server, loopback, SQLite")
    print(table(stock, govchat))


if __name__ == "__main__":
    main()
