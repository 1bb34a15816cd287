"""A homeserver for benchmarks: GovChat's rendered config started as Synapse alone.

No launcher and no Bot-GovChat, so nothing else competes for the two cores, and
`adjust` can edit the rendered config first (strip a module, switch on a stock
Synapse feature) so both sides of a comparison come from one config.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import yaml

from govchat.launcher import upgrade_schema
from govchat.render import render_synapse_config
from govchat.settings import load_settings
from tests.harness import STARTUP_TIMEOUT_SECONDS, GovChatServer


class BenchError(RuntimeError):
    """A benchmark cannot go on; the message says where to look."""


@dataclass
class SynapseOnlyServer(GovChatServer):
    adjust: Callable[[dict[str, Any]], None] | None = None

    def start(self) -> None:
        self.write_settings()
        rendered = render_synapse_config(load_settings(self.data_dir, self.port))
        config = yaml.safe_load(rendered.homeserver_config.read_text(encoding="utf-8"))
        if self.adjust is not None:
            self.adjust(config)
        rendered.homeserver_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        upgrade_schema(rendered.homeserver_config)  # GovChat's tables, as `govchat run` does before Synapse starts
        with open(self.data_dir / "launcher.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(rendered.homeserver_config)],
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"Synapse exited with {self.process.returncode}; see {self.data_dir}/homeserver.log")
            try:
                if requests.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.25)
        raise BenchError(f"Synapse did not start in time; see {self.data_dir}/homeserver.log")


def without_module(module: str) -> Callable[[dict[str, Any]], None]:
    def strip(config: dict[str, Any]) -> None:
        config["modules"] = [entry for entry in config["modules"] if entry["module"] != module]

    return strip
