"""`govchat run`: render the config, start every GovChat service, stop them all together."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import yaml

from govchat.layout import GENERIC_WORKER_APP, Endpoint, Layout
from govchat.mailserver import LocalMailServer
from govchat.permissions import loose_permissions_warning, owner_only_from_now_on
from govchat.postgres import PostgresError, local_postgres
from govchat.proxy import ProxyError, nginx_command, render_nginx_config
from govchat.render import RUN_DIR, RenderedConfig, render_synapse_config
from govchat.schema import SchemaError, upgrade_database
from govchat.settings import PROJECT_ROOT, Settings

STARTUP_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20
READY_TIMEOUT_SECONDS = 30


class StartupError(Exception):
    """A service could not start; the message is one line for the operator."""


def run(settings: Settings) -> int:
    stopping = _install_stop_handlers()
    owner_only_from_now_on()  # inherited by Synapse, the mail server's files and the bot
    rendered = render_synapse_config(settings)
    with ExitStack() as services:
        if settings.uses_local_mail_server:
            services.callback(_start_mail_server(settings).stop)
        supervised: list[ManagedProcess] = []

        def start(service: ManagedProcess) -> ManagedProcess:
            service.start()
            services.callback(service.stop)
            supervised.append(service)
            return service

        if settings.uses_local_postgresql:
            _start_local_postgres(settings, start)
        if settings.uses_local_redis:
            _start_local_redis(settings, start)
        upgrade_schema(rendered.homeserver_config)
        synapse = _start_synapse_processes(settings, rendered, start, stopping)
        if synapse is None:  # Ctrl-C while Synapse was still starting
            print("govchat: stopping", flush=True)
            return 0
        for companion in _companion_services(settings):
            start(companion)
        # Once everything has written its files (database, mail folder, bot store), just above the banner.
        warning = loose_permissions_warning(settings.data_dir)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
        _print_banner(settings, rendered.homeserver_config)
        while synapse.process is not None and synapse.process.poll() is None and not stopping:
            for service in supervised:
                if service is not synapse:
                    service.restart_if_exited()
            time.sleep(0.2)
        if stopping:
            print("govchat: stopping", flush=True)
            return 0
        code = synapse.process.returncode if synapse.process is not None else 1
        print(f"govchat: Synapse exited with code {code}; see {settings.data_dir}/homeserver.log", file=sys.stderr)
        return code or 1


class ManagedProcess:
    """A process GovChat starts, stops, and restarts if it dies (all but Synapse's main process)."""

    def __init__(
        self,
        name: str,
        command: list[str],
        log_path: Path | None,
        environment: dict[str, str] | None = None,
        restart_delay_seconds: float = 5.0,
        cwd: Path = PROJECT_ROOT,
    ) -> None:
        self.name = name
        # Its own session: the launcher stops every process in order, and a terminal's Ctrl-C never
        # reaches them directly (Synapse stopped twice and printed a ReactorNotRunning traceback).
        # The kernel stops it too if the launcher is killed outright (kill -9).
        self.command = ["setpriv", "--pdeathsig", "TERM", "--", *command] if shutil.which("setpriv") else command
        self.log_path = log_path
        self.environment = environment
        self.restart_delay_seconds = restart_delay_seconds
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._exited_at: float | None = None

    def start(self) -> None:
        if self.log_path is None:  # prints to the launcher's own console
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.environment, start_new_session=True)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    self.command, cwd=self.cwd, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        self._exited_at = None

    def restart_if_exited(self) -> bool:
        """Restart after a short delay; True when it was restarted just now."""
        if self.process is None or self.process.poll() is None:
            return False
        now = time.monotonic()
        if self._exited_at is None:
            self._exited_at = now
            where = f" (see {self.log_path})" if self.log_path else ""
            print(f"govchat: {self.name} exited with code {self.process.returncode}; restarting{where}", file=sys.stderr, flush=True)
        if now - self._exited_at >= self.restart_delay_seconds:
            self.start()
            self.restarts += 1
            return True
        return False

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process)


class CompanionService(ManagedProcess):
    """A process that runs beside Synapse (such as the bot)."""

    def __init__(self, name: str, command: list[str], settings: Settings, log_path: Path) -> None:
        environment = {**os.environ, "GOVCHAT_DATA_DIR": str(settings.data_dir), "GOVCHAT_PORT": str(settings.port)}
        super().__init__(name, command, log_path, environment)


Starter = Callable[[ManagedProcess], ManagedProcess]


def _start_local_postgres(settings: Settings, start: Starter) -> None:
    server = local_postgres(settings)
    try:
        server.prepare()
        service = start(ManagedProcess("PostgreSQL", server.server_command(), server.log_path, restart_delay_seconds=1.0))
        assert service.process is not None
        server.wait_until_ready(service.process)
        server.ensure_database()
    except PostgresError as error:
        raise StartupError(str(error)) from None


def _start_local_redis(settings: Settings, start: Starter) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StartupError("the worker layout needs Redis, which is not installed: run `apt-get install redis-server`")
    run_dir = settings.data_dir / RUN_DIR
    socket_path = run_dir / "redis.sock"
    command = [
        binary, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--dir", str(run_dir), "--loglevel", "warning",
    ]
    service = start(ManagedProcess("Redis", command, settings.data_dir / "redis.log", restart_delay_seconds=1.0))
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not _redis_answers(socket_path):
        assert service.process is not None
        if service.process.poll() is not None or time.monotonic() > deadline:
            raise StartupError(f"Redis did not start; see {settings.data_dir}/redis.log")
        time.sleep(0.1)


def _redis_answers(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(2)
            connection.connect(str(socket_path))
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_synapse_processes(settings: Settings, rendered: RenderedConfig, start: Starter, stopping: list[int]) -> ManagedProcess | None:
    """Synapse's main process, then (worker layout) every worker and the proxy; the main process."""
    layout = rendered.layout
    if layout is None:
        main = start(_synapse_service(settings, "Synapse", [rendered.homeserver_config], settings.data_dir / "homeserver.log"))
        if not _wait_until_healthy(main, _tcp_health(settings.port), settings, stopping):
            return None
        return main
    main = start(_synapse_service(settings, "Synapse", rendered.config_paths(layout.main), settings.data_dir / "homeserver.log"))
    if not _wait_until_healthy(main, _unix_health(layout.main.http), settings, stopping):
        return None
    workers = []
    for process in layout.workers:
        log_path = settings.data_dir / f"{process.name}.log"
        service = _synapse_service(settings, f"Synapse worker {process.name}", rendered.config_paths(process), log_path)
        service.restart_delay_seconds = 1.0
        workers.append((start(service), process))
    for service, process in workers:
        if not _wait_until_healthy(service, _unix_health(process.http), settings, stopping):
            return None
    _start_proxy(settings, layout, start)
    if not _wait_until_healthy(None, _tcp_health(settings.port), settings, stopping):
        return None
    return main


def _synapse_service(settings: Settings, name: str, config_paths: list[Path], log_path: Path) -> ManagedProcess:
    is_worker = len(config_paths) > 1
    command = [sys.executable, "-m", GENERIC_WORKER_APP if is_worker else "synapse.app.homeserver"]
    for path in config_paths:
        command += ["--config-path", str(path)]
    # Synapse writes its own log file; a worker's console (start-up errors) goes beside
    # it, the main process prints to the launcher's console as it always has.
    console = log_path.with_suffix(".console.log") if is_worker else None
    return ManagedProcess(name, command, console, cwd=settings.data_dir)


def _start_proxy(settings: Settings, layout: Layout, start: Starter) -> None:
    prefix = settings.data_dir / "nginx"
    prefix.mkdir(mode=0o700, exist_ok=True)
    config_path = prefix / "nginx.conf"
    config_path.write_text(
        render_nginx_config(layout, f"127.0.0.1:{settings.port}", prefix, settings.values["media"]["max_upload_size_mb"] * 2),
        encoding="utf-8",
    )
    try:
        command = nginx_command(config_path, prefix)
    except ProxyError as error:
        raise StartupError(str(error)) from None
    start(ManagedProcess("nginx", command, prefix / "nginx.console.log", restart_delay_seconds=1.0))


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


def upgrade_schema(homeserver_config: Path) -> list[int]:
    """GovChat's schema step on the database Synapse is configured with, before any Synapse process starts."""
    config = yaml.safe_load(homeserver_config.read_text(encoding="utf-8"))
    try:
        applied = upgrade_database(config["database"])
    except SchemaError as error:
        raise StartupError(f"schema: {error}") from None
    if applied:
        print(f"govchat: GovChat's tables upgraded to version {applied[-1]}", flush=True)
    return applied


def _install_stop_handlers() -> list[int]:
    """Ctrl-C or SIGTERM ask the loop to stop; the ExitStack then stops every service."""
    received: list[int] = []

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, ask_to_stop)
    signal.signal(signal.SIGTERM, ask_to_stop)
    return received


HealthCheck = Callable[[], bool]


def _tcp_health(port: int) -> HealthCheck:
    url = f"http://127.0.0.1:{port}/health"

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    return check


def _unix_health(endpoint: Endpoint) -> HealthCheck:
    assert endpoint.path is not None

    def check() -> bool:
        assert endpoint.path is not None
        connection = UnixHTTPConnection(endpoint.path)
        try:
            connection.request("GET", "/health")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    return check


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to a Synapse listener on a unix socket."""

    def __init__(self, socket_path: Path, timeout: float = 2) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.socket_path))


def _wait_until_healthy(service: ManagedProcess | None, healthy: HealthCheck, settings: Settings, stopping: list[int]) -> bool:
    """True once healthy; False if asked to stop meanwhile; StartupError if it died or took too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stopping:
        if service is not None and service.process is not None and service.process.poll() is not None:
            raise StartupError(f"{service.name} stopped during start-up (code {service.process.returncode}); see {settings.data_dir}/homeserver.log and {service.log_path}")
        if healthy():
            return True
        time.sleep(0.25)
    if stopping:
        return False
    what = service.name if service is not None else "the proxy"
    raise StartupError(f"{what} did not answer its health check within {STARTUP_TIMEOUT_SECONDS} s")


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
