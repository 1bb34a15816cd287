"""Which Synapse processes GovChat runs, and which of them answers each request.

One process (the default) does everything. The worker layout splits Synapse as
its docs describe (docs/workers.md upstream): the main process, one stream
writer (events, typing, to-device, receipts, account data), N client workers,
one background-tasks worker and one media worker, all sharing PostgreSQL and
talking over Redis. Synapse has no routing of its own: the proxy (govchat/proxy.py)
sends each request to a process that serves it, using `ROUTES` below, and
`target_for` answers the same question in Python for tests and tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAIN = "main"
STREAM_WRITER = "stream_writer"
BACKGROUND = "background"
MEDIA = "media"
CLIENT_PREFIX = "client"

GENERIC_WORKER_APP = "synapse.app.generic_worker"

# Streams moved off the main process to the stream writer.
WRITER_STREAMS = ("events", "typing", "to_device", "receipts", "account_data")

# Worker metrics listen on metrics.port + an offset that depends only on the
# worker's role (and number), so adding client workers moves no other port; all
# clear of metrics.bot_port (by default metrics.port + 1).
METRICS_PORT_OFFSETS = {STREAM_WRITER: 10, BACKGROUND: 11, MEDIA: 12}
FIRST_CLIENT_METRICS_OFFSET = 13


@dataclass(frozen=True)
class Endpoint:
    """Where a Synapse listener is: a unix socket (one host) or host and port (several hosts)."""

    path: Path | None = None
    host: str | None = None
    port: int | None = None

    def listener(self) -> dict[str, Any]:
        if self.path is not None:
            # Owner-only like everything else in the data folder; nginx runs as the same user (root: `user root`).
            return {"path": str(self.path), "mode": 0o600}
        return {"port": self.port, "bind_addresses": [self.host]}

    def instance(self) -> dict[str, Any]:
        return {"path": str(self.path)} if self.path is not None else {"host": self.host, "port": self.port}

    def upstream(self) -> str:
        """The address as nginx's `server` directive wants it."""
        return f"unix:{self.path}" if self.path is not None else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class SynapseProcess:
    name: str
    role: str  # main, stream_writer, client, background or media
    http: Endpoint  # what the proxy talks to
    replication: Endpoint | None  # only for processes named in instance_map
    metrics_port: int
    resources: tuple[str, ...]
    host: str = "127.0.0.1"  # where it runs (the production layout spreads client workers)

    @property
    def is_main(self) -> bool:
        return self.role == MAIN

    def listeners(self, metrics: bool) -> list[dict[str, Any]]:
        """Synapse's `listeners` (main) or `worker_listeners` entries for this process."""
        found: list[dict[str, Any]] = [
            {**self.http.listener(), "type": "http", "x_forwarded": True, "resources": [{"names": list(self.resources), "compress": False}]}
        ]
        if self.replication is not None:
            found.append({**self.replication.listener(), "type": "http", "resources": [{"names": ["replication"]}]})
        if metrics:
            found.append({"type": "metrics", "port": self.metrics_port, "bind_addresses": [self.host]})
        return found


@dataclass(frozen=True)
class Layout:
    processes: tuple[SynapseProcess, ...]

    @property
    def main(self) -> SynapseProcess:
        return self.processes[0]

    @property
    def workers(self) -> tuple[SynapseProcess, ...]:
        return self.processes[1:]

    def with_role(self, role: str) -> tuple[SynapseProcess, ...]:
        return tuple(process for process in self.processes if process.role == role)

    def named(self, name: str) -> SynapseProcess:
        for process in self.processes:
            if process.name == name:
                return process
        raise KeyError(name)

    @property
    def instance_map(self) -> dict[str, dict[str, Any]]:
        return {p.name: p.replication.instance() for p in self.processes if p.replication is not None}


def _roles(client_workers: int, federation: bool) -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(name, role, HTTP resources, has a replication listener) of every process, main first."""
    client_resources = ("client", "federation") if federation else ("client",)
    return [
        (MAIN, MAIN, client_resources, True),
        (STREAM_WRITER, STREAM_WRITER, ("client",), True),
        *[(f"{CLIENT_PREFIX}{n}", "client", client_resources, False) for n in range(1, client_workers + 1)],
        (BACKGROUND, BACKGROUND, ("health",), False),
        (MEDIA, MEDIA, ("media", "client"), True),
    ]


def metrics_port_of(name: str, role: str, metrics_port: int) -> int:
    if role == MAIN:
        return metrics_port
    if role == "client":
        return metrics_port + FIRST_CLIENT_METRICS_OFFSET + int(name.removeprefix(CLIENT_PREFIX)) - 1
    return metrics_port + METRICS_PORT_OFFSETS[role]


def worker_layout(run_dir: Path, client_workers: int, metrics_port: int, federation: bool) -> Layout:
    """The processes of the worker layout on one host; sockets live in `run_dir`."""
    return Layout(
        tuple(
            SynapseProcess(
                name=name,
                role=role,
                http=Endpoint(path=run_dir / f"{name}.sock"),
                replication=Endpoint(path=run_dir / f"{name}-repl.sock") if replication else None,
                metrics_port=metrics_port_of(name, role, metrics_port),
                resources=resources,
            )
            for name, role, resources, replication in _roles(client_workers, federation)
        )
    )


# Ports of the production layout, where processes talk over the network.
HTTP_PORTS = {MAIN: 8080, STREAM_WRITER: 8081, BACKGROUND: 8082, MEDIA: 8083}
FIRST_CLIENT_HTTP_PORT = 8090
REPLICATION_PORTS = {MAIN: 9093, STREAM_WRITER: 9094, MEDIA: 9095}


def production_layout(main_host: str, worker_hosts: list[str], client_workers: int, metrics_port: int, federation: bool) -> Layout:
    """Main, stream writer, background and media on `main_host`; client workers spread over `worker_hosts`."""
    processes = []
    for name, role, resources, replication in _roles(client_workers, federation):
        if role == "client":
            number = int(name.removeprefix(CLIENT_PREFIX))
            host, port = worker_hosts[(number - 1) % len(worker_hosts)], FIRST_CLIENT_HTTP_PORT + number - 1
        else:
            host, port = main_host, HTTP_PORTS[role]
        processes.append(
            SynapseProcess(
                name=name,
                role=role,
                http=Endpoint(host=host, port=port),
                replication=Endpoint(host=host, port=REPLICATION_PORTS[role]) if replication else None,
                metrics_port=metrics_port_of(name, role, metrics_port),
                resources=resources,
                host=host,
            )
        )
    return Layout(tuple(processes))


# --- routing ---------------------------------------------------------------------------

# Where a request goes. Targets: "main", "stream_writer", "media", "client" (round
# robin over client workers), "client_sync" (the same client worker for the same
# user, so its caches stay warm), "client_room" (the same client worker for the
# same room: Synapse asks that pagination of one room stays on one process).
# First match wins; anything unmatched goes to main, which serves every endpoint.
_V = r"(api/v1|r0|v3|unstable)"
_V3 = r"(r0|v3|unstable)"


@dataclass(frozen=True)
class Route:
    pattern: str
    target: str

    def matches(self, path: str) -> bool:
        return re.search(self.pattern, path) is not None


ROUTES: tuple[Route, ...] = (
    # Never through the proxy: replication between processes.
    Route(r"^/_synapse/replication/", "deny"),
    # Stream writer endpoints.
    Route(rf"^/_matrix/client/{_V}/rooms/[^/]+/typing", STREAM_WRITER),
    Route(rf"^/_matrix/client/{_V3}/sendToDevice/", STREAM_WRITER),
    Route(rf"^/_matrix/client/{_V3}/.*/tags", STREAM_WRITER),
    Route(rf"^/_matrix/client/{_V3}/.*/account_data", STREAM_WRITER),
    Route(rf"^/_matrix/client/{_V3}/rooms/[^/]+/receipt", STREAM_WRITER),
    Route(rf"^/_matrix/client/{_V3}/rooms/[^/]+/read_markers", STREAM_WRITER),
    # Media worker.
    Route(r"^/_matrix/media/", MEDIA),
    Route(r"^/_matrix/client/v1/media/", MEDIA),
    Route(r"^/_matrix/federation/v1/media/", MEDIA),
    Route(r"^/_synapse/admin/v1/purge_media_cache$", MEDIA),
    Route(r"^/_synapse/admin/v1/room/.*/media.*$", MEDIA),
    Route(r"^/_synapse/admin/v1/user/.*/media.*$", MEDIA),
    Route(r"^/_synapse/admin/v1/media/.*$", MEDIA),
    Route(r"^/_synapse/admin/v1/quarantine_media/.*$", MEDIA),
    Route(r"^/_synapse/admin/v1/users/.*/media$", MEDIA),
    # Sync, by user.
    Route(r"^/_matrix/client/(r0|v3)/sync$", "client_sync"),
    Route(r"^/_matrix/client/(api/v1|r0|v3)/events$", "client_sync"),
    Route(r"^/_matrix/client/(api/v1|r0|v3)/initialSync$", "client_sync"),
    Route(r"^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$", "client_sync"),
    # Room pagination, by room.
    Route(rf"^/_matrix/client/{_V}/rooms/[^/]+/messages$", "client_room"),
    # Client workers: every endpoint Synapse's generic worker serves.
    Route(rf"^/_matrix/client/{_V}/createRoom$", "client"),
    Route(rf"^/_matrix/client/{_V}/publicRooms$", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/joined_members$", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/context/.*$", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/members$", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/state$", "client"),
    Route(r"^/_matrix/client/v1/rooms/.*/hierarchy$", "client"),
    Route(r"^/_matrix/client/(v1|unstable)/rooms/.*/relations/", "client"),
    Route(r"^/_matrix/client/v1/rooms/.*/threads$", "client"),
    Route(r"^/_matrix/client/v1/room_summary/.*$", "client"),
    Route(rf"^/_matrix/client/{_V3}/account/3pid$", "client"),
    Route(rf"^/_matrix/client/{_V3}/account/whoami$", "client"),
    Route(rf"^/_matrix/client/{_V3}/account/deactivate$", "client"),
    Route(r"^/_matrix/client/(r0|v3)/delete_devices$", "client"),
    Route(rf"^/_matrix/client/{_V}/devices(/|$)", "client"),
    Route(r"^/_matrix/client/versions$", "client"),
    Route(rf"^/_matrix/client/{_V}/voip/turnServer$", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/event/", "client"),
    Route(rf"^/_matrix/client/{_V}/joined_rooms$", "client"),
    Route(r"^/_matrix/client/v1/rooms/.*/timestamp_to_event$", "client"),
    Route(r"^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases", "client"),
    Route(rf"^/_matrix/client/{_V}/search$", "client"),
    Route(rf"^/_matrix/client/{_V3}/user/.*/filter(/|$)", "client"),
    Route(rf"^/_matrix/client/{_V}/directory/room/.*$", "client"),
    Route(rf"^/_matrix/client/{_V3}/capabilities$", "client"),
    Route(rf"^/_matrix/client/{_V3}/notifications$", "client"),
    Route(rf"^/_matrix/client/{_V3}/keys/query$", "client"),
    Route(rf"^/_matrix/client/{_V3}/keys/changes$", "client"),
    Route(rf"^/_matrix/client/{_V3}/keys/claim$", "client"),
    Route(rf"^/_matrix/client/{_V3}/room_keys/", "client"),
    Route(rf"^/_matrix/client/{_V3}/keys/upload", "client"),
    Route(rf"^/_matrix/client/{_V}/keys/device_signing/upload$", "client"),
    Route(rf"^/_matrix/client/{_V}/keys/signatures/upload$", "client"),
    Route(rf"^/_matrix/client/{_V}/login$", "client"),
    Route(rf"^/_matrix/client/{_V3}/register$", "client"),
    Route(rf"^/_matrix/client/{_V3}/register/available$", "client"),
    Route(r"^/_matrix/client/v1/register/m.login.registration_token/validity$", "client"),
    Route(rf"^/_matrix/client/{_V3}/password_policy$", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/redact", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/send", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/state/", "client"),
    Route(rf"^/_matrix/client/{_V}/rooms/.*/(join|invite|leave|ban|unban|kick)$", "client"),
    Route(rf"^/_matrix/client/{_V}/join/", "client"),
    Route(rf"^/_matrix/client/{_V}/knock/", "client"),
    Route(rf"^/_matrix/client/{_V}/profile/", "client"),
    Route(rf"^/_matrix/client/{_V3}/user_directory/search$", "client"),
    # GovChat: meeting tokens are asked for at every call, so they scale out too;
    # the rest of GovChat's API (administration, applications, pages) is on main.
    Route(r"^/_synapse/client/govchat/v1/gcmeet/", "client"),
)

TARGETS = (MAIN, STREAM_WRITER, MEDIA, "client", "client_sync", "client_room", "deny")


def target_for(path: str) -> str:
    """The first route matching `path` (no query string), else the main process."""
    for route in ROUTES:
        if route.matches(path):
            return route.target
    return MAIN
