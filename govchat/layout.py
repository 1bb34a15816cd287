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

MAIN = "main"
STREAM_WRITER = "stream_writer"
BACKGROUND = "background"
MEDIA = "media"
CLIENT_PREFIX = "client"

GENERIC_WORKER_APP = "synapse.app.generic_worker"

# Streams moved off the main process to the stream writer.
WRITER_STREAMS = ("events", "typing", "to_device", "receipts", "account_data")

# Worker metrics listen on metrics.port + METRICS_PORT_OFFSET + their index,
# clear of metrics.bot_port (by default metrics.port + 1).
METRICS_PORT_OFFSET = 10


@dataclass(frozen=True)
class SynapseProcess:
    name: str
    role: str  # main, stream_writer, client, background or media
    socket: Path  # HTTP listener on a unix socket: what the proxy talks to
    replication_socket: Path | None  # only for processes named in instance_map
    metrics_port: int
    resources: tuple[str, ...]

    @property
    def is_main(self) -> bool:
        return self.role == MAIN


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
    def instance_map(self) -> dict[str, dict[str, str]]:
        return {p.name: {"path": str(p.replication_socket)} for p in self.processes if p.replication_socket is not None}


def worker_layout(run_dir: Path, client_workers: int, metrics_port: int, federation: bool) -> Layout:
    """The processes of the worker layout; sockets live in `run_dir`."""
    client_resources = ("client", "federation") if federation else ("client",)

    def process(index: int, name: str, role: str, resources: tuple[str, ...], replication: bool) -> SynapseProcess:
        port = metrics_port if index == 0 else metrics_port + METRICS_PORT_OFFSET + index - 1
        return SynapseProcess(
            name=name,
            role=role,
            socket=run_dir / f"{name}.sock",
            replication_socket=run_dir / f"{name}-replication.sock" if replication else None,
            metrics_port=port,
            resources=resources,
        )

    roles: list[tuple[str, str, tuple[str, ...], bool]] = [
        (MAIN, MAIN, client_resources, True),
        (STREAM_WRITER, STREAM_WRITER, ("client",), True),
        *[(f"{CLIENT_PREFIX}{n}", "client", client_resources, False) for n in range(1, client_workers + 1)],
        (BACKGROUND, BACKGROUND, ("health",), False),
        (MEDIA, MEDIA, ("media", "client"), True),
    ]
    return Layout(tuple(process(index, *role) for index, role in enumerate(roles)))


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
