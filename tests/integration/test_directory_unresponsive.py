"""A staff directory that accepts connections and never answers holds up only directory work:
password logins (bcrypt, on Synapse's own thread pool) keep working while its look-ups hang,
because LDAP calls have a thread pool of their own (`directory.lookup_threads`)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.conftest import TEST_SETTINGS
from tests.harness import GovChatServer

DOMAIN = "jpa.gov.my"
LOOKUP_THREADS = 2
# More look-ups at once than Synapse's shared thread pool has threads (Twisted's default, 10):
# were they on that pool, a login's password check would queue behind all of them.
HUNG_LOOKUPS = 14
LDAP_TIMEOUT_SECONDS = 60  # the longest allowed: the look-ups outlast the login by far
DEADLINE_SECONDS = 60


class SilentDirectory:
    """A TCP listener that accepts LDAP connections and never sends a byte back."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.url = f"ldap://127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._held.append(connection)

    def close(self) -> None:
        """Refuse and drop everything, so the waiting look-ups end at once."""
        self._listener.close()
        with self._lock:
            for connection in self._held:
                connection.close()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentDirectory]:
    directory = SilentDirectory()
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, silent: SilentDirectory) -> Iterator[GovChatServer]:
    settings: dict[str, Any] = {
        "registration": TEST_SETTINGS["registration"],  # lists DOMAIN
        "bot": {"enabled": False},
        "directory": {
            "lookup_threads": LOOKUP_THREADS,
            "agencies": [
                {"domain": DOMAIN, "url": silent.url, "base_dn": "dc=jpa,dc=gov,dc=my", "timeout_seconds": LDAP_TIMEOUT_SECONDS}
            ],
        },
    }
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-silent-directory"), settings=settings).running() as govchat:
        yield govchat


def request_token(server: GovChatServer, address: str) -> requests.Response:
    body = {"email": address, "client_secret": uuid.uuid4().hex, "send_attempt": 1}
    return server.client_api("POST", "/register/email/requestToken", json=body)


def test_password_login_works_while_directory_lookups_hang(server: GovChatServer, silent: SilentDirectory) -> None:
    user = server.register_plain_user()
    with ThreadPoolExecutor(HUNG_LOOKUPS) as clients:
        hung: list[Future[requests.Response]] = [
            clients.submit(request_token, server, f"pegawai-{uuid.uuid4().hex[:8]}@{DOMAIN}") for _ in range(HUNG_LOOKUPS)
        ]
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while silent.connections < LOOKUP_THREADS:  # the directory's threads are all waiting on it
                assert time.monotonic() < deadline, f"only {silent.connections} connections reached the silent directory"
                time.sleep(0.1)
            answer = server.login(user.user_id, user.password)
            still_hanging = [not request.done() for request in hung]
            assert answer.status_code == 200, answer.text
            # The login was answered while every look-up still waited on the directory.
            assert all(still_hanging)
            # Only the directory's own threads ever talked to it; the rest wait their turn.
            assert silent.connections == LOOKUP_THREADS
        finally:
            silent.close()
    # Once the directory is gone, each waiting registration is refused ("try again later"), none hangs.
    assert {request.result().status_code for request in hung} == {403}
