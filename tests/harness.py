"""A real GovChat homeserver for tests: started with `govchat run`, driven over HTTP.

Each `GovChatServer` gets its own data dir and free ports, writes a govchat.yaml
(plus test-only overrides such as relaxed rate limits), starts the same launcher
`make run` uses, and waits until Synapse answers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
import yaml

from govchat.mailserver import mail_files, read_mail
from govchat.postgres import ROOT_CLUSTERS

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 180

# GOVCHAT_TEST_LAYOUT=workers runs every test server as Synapse's worker layout:
# GovChat's own PostgreSQL and Redis, two client workers, nginx in front.
LAYOUT = os.environ.get("GOVCHAT_TEST_LAYOUT", "single")
WORKER_LAYOUT_SETTINGS: dict[str, Any] = {"database": {"engine": "postgresql"}, "workers": {"client": 2}}
# PostgreSQL clusters the test servers made outside their data folders (as root).
CLUSTERS_TO_REMOVE: set[Path] = set()

# Tests register many users and send many requests from one address; Synapse's
# default rate limits would turn that into flaky 429s. Each rule still holds.
_RELAXED = {"per_second": 1000, "burst_count": 1000}
TEST_SYNAPSE_OVERRIDES: dict[str, Any] = {
    "rc_message": _RELAXED,
    "rc_registration": _RELAXED,
    "rc_registration_token_validity": _RELAXED,
    "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
    "rc_3pid_validation": _RELAXED,
    "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
    "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
    "rc_admin_redaction": _RELAXED,
    "rc_media_create": _RELAXED,
}
RELAXED_ONBOARDING = {"per_ip_burst": 100_000, "per_ip_per_hour": 100_000, "per_address_burst": 1000, "per_address_per_hour": 100_000}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_block(size: int = 40) -> int:
    """The first of `size` consecutive free ports, below Linux's ephemeral range (32768+),
    so outgoing connections do not take them: the worker layout's metrics ports follow metrics.port."""
    import random

    for _ in range(200):
        first = random.randrange(10000, 32000 - size)
        probes = []
        try:
            for port in range(first, first + size):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no block of free ports")


@dataclass
class User:
    user_id: str
    password: str
    access_token: str
    email: str | None = None

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":")[0]


@dataclass
class GovChatServer:
    data_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port_block)
    bot_metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _seen_mail: set[Path] = field(default_factory=set)
    _log_offset: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def homeserver_config(self) -> Path:
        return self.data_dir / "homeserver.yaml"

    @property
    def server_name(self) -> str:
        return str(self.settings.get("server_name", "govchat.localhost"))

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["GOVCHAT_DATA_DIR"] = str(self.data_dir)
        env["GOVCHAT_PORT"] = str(self.port)
        return env

    @property
    def uses_workers(self) -> bool:
        return int(self.settings.get("workers", {}).get("client", 0)) > 0

    def write_settings(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = dict(self.settings)
        if LAYOUT == "workers":
            for section, values in WORKER_LAYOUT_SETTINGS.items():
                settings[section] = {**values, **settings.get(section, {})}
            self.settings = settings
        # The same for GovChat's own per-mailbox limit on verification mails (test_onboarding sets the real one).
        registration = dict(settings.get("registration", {}))
        registration.setdefault("onboarding", RELAXED_ONBOARDING)
        settings["registration"] = registration
        settings.setdefault("email", {})
        settings["email"] = {**settings["email"], "local_smtp_port": self.smtp_port}
        settings["metrics"] = {"port": self.metrics_port, "bot_port": self.bot_metrics_port, **settings.get("metrics", {})}
        extra = dict(TEST_SYNAPSE_OVERRIDES)
        extra.update(settings.get("synapse_extra", {}))
        settings["synapse_extra"] = extra
        (self.data_dir / "govchat.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")

    def start(self) -> None:
        if not (self.data_dir / "govchat.yaml").exists():
            self.write_settings()
        log_path = self.data_dir / "launcher.log"
        self._log_offset = log_path.stat().st_size if log_path.exists() else 0
        log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govchat", "run"],
            cwd=REPO_ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()
        # Any server on GovChat's own PostgreSQL (the worker layout, or a single process told to use it).
        link = self.data_dir / "postgres"
        if link.is_symlink() and Path(os.readlink(link)).parent == ROOT_CLUSTERS:
            CLUSTERS_TO_REMOVE.add(Path(os.readlink(link)))

    def synapse_metrics_ports(self) -> list[int]:
        """The metrics port of every Synapse process (one, or one per process of the worker layout)."""
        configs = [self.homeserver_config, *sorted((self.data_dir / "workers").glob("*.yaml"))]
        ports = []
        for path in configs:
            config = yaml.safe_load(path.read_text()) or {}
            for listener in config.get("listeners", []) + config.get("worker_listeners", []):
                if listener.get("type") == "metrics":
                    ports.append(int(listener["port"]))
        return ports

    def database_rows(self, sql: str, values: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the server's own database (SQLite or PostgreSQL), committed; `?` placeholders."""
        from govchat.schema import POSTGRESQL, connect

        config = yaml.safe_load(self.homeserver_config.read_text())["database"]
        connection, dialect = connect(config)
        try:
            cursor = connection.cursor()
            cursor.execute(sql.replace("?", "%s") if dialect == POSTGRESQL else sql, values)
            rows = list(cursor.fetchall()) if cursor.description is not None else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def synapse_logs(self) -> str:
        """Everything every Synapse process logged."""
        names = ["homeserver.log*", "*.log*"] if self.uses_workers else ["homeserver.log*"]
        paths = {path for name in names for path in self.data_dir.glob(name)}
        return "".join(path.read_text(errors="replace") for path in sorted(paths))

    @contextmanager
    def running(self) -> Iterator[GovChatServer]:
        """Started for the `with` block, stopped after it, whatever happens inside."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"govchat run exited with {self.process.returncode}: {self.launcher_log()}")
            # The launcher prints its banner only once Synapse is healthy.
            if "GovChat is running" in self.launcher_log():
                return
            time.sleep(0.2)
        raise RuntimeError(f"GovChat did not start in time: {self.launcher_log()}")

    def launcher_log(self) -> str:
        """What the launcher printed since the last start."""
        path = self.data_dir / "launcher.log"
        if not path.exists():
            return ""
        with open(path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    # --- HTTP -----------------------------------------------------------------

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base_url + path, headers=headers, timeout=120, **kwargs)

    def client_api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request(method, "/_matrix/client/v3" + path, token, **kwargs)

    # --- accounts -------------------------------------------------------------

    def register_admin(self, localpart: str | None = None, password: str = "Admin-pass-1234") -> User:
        return self._register_with_shared_secret(localpart or f"admin-{uuid.uuid4().hex[:8]}", password, admin=True)

    def register_plain_user(self, localpart: str | None = None, password: str = "User-pass-1234") -> User:
        """A user without e-mail, made with the shared secret (as an operator would script it)."""
        return self._register_with_shared_secret(localpart or f"user-{uuid.uuid4().hex[:8]}", password, admin=False)

    def _register_with_shared_secret(self, localpart: str, password: str, admin: bool) -> User:
        secrets = yaml.safe_load((self.data_dir / "secrets.yaml").read_text())
        nonce = self.request("GET", "/_synapse/admin/v1/register").json()["nonce"]
        mac = hmac.new(secrets["registration_shared_secret"].encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()}
        answer = self.request("POST", "/_synapse/admin/v1/register", json=body)
        answer.raise_for_status()
        data = answer.json()
        return User(user_id=data["user_id"], password=password, access_token=data["access_token"])

    def register_with_email(self, email: str, password: str = "Kerajaan-2026!", localpart: str | None = None) -> User:
        """The full flow Element uses: request a token, follow the mailed link, register."""
        client_secret = uuid.uuid4().hex
        answer = self.client_api(
            "POST", "/register/email/requestToken", json={"email": email, "client_secret": client_secret, "send_attempt": 1}
        )
        assert answer.status_code == 200, answer.text
        sid = answer.json()["sid"]
        link = mail_link(self.wait_for_mail(to=email.lower()), "submit_token")
        assert requests.get(link, timeout=30).status_code == 200
        body: dict[str, Any] = {"username": localpart or f"u{uuid.uuid4().hex[:10]}", "password": password}
        first = self.client_api("POST", "/register", json=body)
        assert first.status_code == 401, first.text
        body["auth"] = {
            "type": "m.login.email.identity",
            "threepid_creds": {"sid": sid, "client_secret": client_secret},
            "session": first.json()["session"],
        }
        answer = self.client_api("POST", "/register", json=body)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        return User(user_id=data["user_id"], password=password, access_token=data["access_token"], email=email.lower())

    def login(self, user_id: str, password: str) -> requests.Response:
        body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id}, "password": password}
        return self.client_api("POST", "/login", json=body)

    # --- mail -----------------------------------------------------------------

    def new_mail(self) -> list[Path]:
        """Messages that arrived since the last call (or since the server started)."""
        fresh = [path for path in mail_files(self.mail_dir) if path not in self._seen_mail]
        self._seen_mail.update(fresh)
        return fresh

    def wait_for_mail(self, to: str, timeout: float = 30) -> EmailMessage:
        deadline = time.monotonic() + timeout
        pending: list[EmailMessage] = []
        while time.monotonic() < deadline:
            pending.extend(read_mail(path) for path in self.new_mail())
            for message in pending:
                if message["To"] == to:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} within {timeout} s")

    def mail_until_marker(self, marker_domain: str = "jpa.gov.my", timeout: float = 30) -> list[EmailMessage]:
        """New messages up to a marker: a verification mail requested now for a fresh address.

        A barrier for "no mail was sent": Synapse hands a verification mail to the mail server
        before it answers, and the mail server stores a message before accepting it, so a mail
        owed to any earlier request has been stored by the time the marker is. The marker itself
        is not returned.
        """
        marker = f"penanda-{uuid.uuid4().hex[:8]}@{marker_domain}"
        body = {"email": marker, "client_secret": uuid.uuid4().hex, "send_attempt": 1}
        answer = self.client_api("POST", "/register/email/requestToken", json=body)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + timeout
        arrived: list[EmailMessage] = []
        while time.monotonic() < deadline:
            arrived.extend(read_mail(path) for path in self.new_mail())
            if any(message["To"] == marker for message in arrived):
                return [message for message in arrived if message["To"] != marker]
            time.sleep(0.1)
        raise AssertionError(f"the marker mail to {marker} did not arrive within {timeout} s")


def mail_link(message: EmailMessage, marker: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    match = re.search(r"https?://\S*" + re.escape(marker) + r"\S*", text)
    assert match, f"no link with {marker!r} in mail: {text}"
    return match.group(0)
