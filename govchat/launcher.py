"""`govchat run`: render the config, start every GovChat service, stop them all together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from govchat.mailserver import LocalMailServer
from govchat.permissions import loose_permissions_warning, owner_only_from_now_on
from govchat.render import render_synapse_config
from govchat.settings import PROJECT_ROOT, Settings

STARTUP_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20


class StartupError(Exception):
    """A service could not start; the message is one line for the operator."""


def run(settings: Settings) -> int:
    stopping = _install_stop_handlers()
    owner_only_from_now_on()  # inherited by Synapse, the mail server's files and the bot
    rendered = render_synapse_config(settings)
    with ExitStack() as services:
        if settings.uses_local_mail_server:
            services.callback(_start_mail_server(settings).stop)
        synapse = _start_synapse(rendered.homeserver_config)
        services.callback(_stop_process, synapse)
        _wait_until_healthy(settings, synapse, stopping)
        if stopping:  # Ctrl-C while Synapse was still starting
            print("govchat: stopping", flush=True)
            return 0
        companions = _companion_services(settings)
        for companion in companions:
            companion.start()
            services.callback(companion.stop)
        # Once everything has written its files (database, mail folder, bot store), just above the banner.
        warning = loose_permissions_warning(settings.data_dir)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
        _print_banner(settings, rendered.homeserver_config)
        while synapse.poll() is None and not stopping:
            for companion in companions:
                companion.restart_if_exited()
            time.sleep(0.2)
        if stopping:
            print("govchat: stopping", flush=True)
            return 0
        print(f"govchat: Synapse exited with code {synapse.returncode}; see {settings.data_dir}/homeserver.log", file=sys.stderr)
        return synapse.returncode or 1


class CompanionService:
    """A process that runs beside Synapse (such as the bot), restarted if it dies."""

    RESTART_DELAY_SECONDS = 5.0

    def __init__(self, name: str, command: list[str], settings: Settings, log_path: Path) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        self.environment = {**os.environ, "GOVCHAT_DATA_DIR": str(settings.data_dir), "GOVCHAT_PORT": str(settings.port)}
        self.process: subprocess.Popen[bytes] | None = None
        self._exited_at: float | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT)
        self._exited_at = None

    def restart_if_exited(self) -> None:
        if self.process is None or self.process.poll() is None:
            return
        now = time.monotonic()
        if self._exited_at is None:
            self._exited_at = now
            print(f"govchat: {self.name} exited with code {self.process.returncode}; restarting (see {self.log_path})", file=sys.stderr, flush=True)
        elif now - self._exited_at >= self.RESTART_DELAY_SECONDS:
            self.start()

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process)


def _companion_services(settings: Settings) -> list[CompanionService]:
    services = []
    if settings.values["bot"]["enabled"]:
        command = [sys.executable, "-m", "bots.pkpa_bot"]
        services.append(CompanionService("Bot-GovChat", command, settings, settings.data_dir / "bot" / "bot.log"))
    return services


def _start_mail_server(settings: Settings) -> LocalMailServer:
    port = settings.values["email"]["local_smtp_port"]
    server = LocalMailServer(settings.mail_dir, port)
    try:
        server.start()
    except OSError as error:
        raise StartupError(f"email.local_smtp_port: cannot listen on 127.0.0.1:{port} ({error.strerror or error})") from None
    return server


def _start_synapse(homeserver_config: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(homeserver_config)]
    return subprocess.Popen(command, cwd=homeserver_config.parent)


def _install_stop_handlers() -> list[int]:
    """Ctrl-C or SIGTERM ask the loop to stop; the ExitStack then stops every service."""
    received: list[int] = []

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, ask_to_stop)
    signal.signal(signal.SIGTERM, ask_to_stop)
    return received


def _wait_until_healthy(settings: Settings, synapse: subprocess.Popen[bytes], stopping: list[int]) -> None:
    url = f"http://127.0.0.1:{settings.port}/health"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stopping:
        if synapse.poll() is not None:
            raise StartupError(f"Synapse stopped during start-up (code {synapse.returncode}); see {settings.data_dir}/homeserver.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    if not stopping:
        raise StartupError(f"Synapse did not answer on {url} within {STARTUP_TIMEOUT_SECONDS} s")


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _print_banner(settings: Settings, homeserver_config: Path) -> None:
    mail = (
        f"stored as .eml files in {settings.mail_dir}"
        if settings.uses_local_mail_server
        else f"sent through {settings.values['email']['smtp_host']}:{settings.values['email']['smtp_port']}"
    )
    print(
        "\n".join(
            [
                "",
                f"GovChat is running: homeserver {settings.public_baseurl} (server name {settings.server_name})",
                "Create the first administrator in another terminal with:",
                f"  .venv/bin/register_new_matrix_user -c {homeserver_config} --admin",
                f"Portal and applications: {settings.public_baseurl}_synapse/client/govchat/portal",
                f"Outgoing mail is {mail}.",
                *(
                    [f"Bot-GovChat answers as @{settings.values['bot']['localpart']}:{settings.server_name} (log: {settings.data_dir}/bot/bot.log)."]
                    if settings.values["bot"]["enabled"]
                    else []
                ),
                f"Settings: {settings.data_dir}/govchat.yaml. Logs: {settings.data_dir}/homeserver.log. Stop with Ctrl-C.",
                "",
            ]
        ),
        flush=True,
    )
