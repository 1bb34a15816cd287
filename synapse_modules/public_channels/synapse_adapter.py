"""The public channels module's reads of Synapse's own tables (written against Synapse 1.163).

The module API answers one room's state at a time, but has no list of the rooms
whose current state holds an event type (every channel), no member count without
loading the whole member list, and no list of local users: queries on
`current_state_events`, `local_current_membership` and `users` answer those in one
statement each, on every process. Nothing is cached in memory, so any worker sees
the same channels and members.

`self_test` (run when the module loads) names the first table or column a Synapse
upgrade removed.

Typing and presence in channels, where Synapse has no module callback:

Typing:
Synapse offers modules no callback for typing notifications, so GovChat wraps the
typing writer handler's `started_typing` on the one process that writes the typing
stream (the main process, or the stream writer on the worker layout): in a channel the
request is answered 200 and the notification is not passed on, elsewhere Synapse's
own handler runs unchanged. `install_typing_filter` checks the method's signature
first (the start-up self-test) and leaves Synapse untouched if an upgrade changed it.

Presence: Synapse's `exclude_rooms_from_presence` (room IDs in homeserver.yaml, read
once at start) is the frozenset `_rooms_to_exclude_from_presence` of the presence handler
(routing: whose waiting /sync an online-status change wakes) and of the presence event
source (what a /sync shows). Every process sets both to the configured rooms plus the
channels, refreshed periodically, since channels are created while Synapse runs.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY
from synapse_modules.common.synapse_internals import require_columns

logger = logging.getLogger(__name__)

ADAPTER = "synapse_modules/public_channels/synapse_adapter.py"
SYNAPSE_COLUMNS = {
    "current_state_events": ("room_id", "type", "state_key"),
    "local_current_membership": ("room_id", "user_id", "membership"),
    "users": ("name", "deactivated", "is_guest", "appservice_id"),
}


def self_test(api: ModuleApi) -> None:
    require_columns(api, "public_channels", ADAPTER, SYNAPSE_COLUMNS)


def channel_room_ids(txn: Any) -> list[str]:
    txn.execute(
        "SELECT room_id FROM current_state_events WHERE type = ? AND state_key = ? ORDER BY room_id",
        (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY),
    )
    return [row[0] for row in txn.fetchall()]


def joined_member_count(txn: Any, room_id: str) -> int:
    txn.execute("SELECT COUNT(*) FROM local_current_membership WHERE room_id = ? AND membership = 'join'", (room_id,))
    return int(txn.fetchone()[0])


def users_missing_from(txn: Any, room_id: str, skipped: tuple[str, ...], after: str, limit: int) -> list[str]:
    """Active local users after `after` (by ID) whose membership of the room is none of `skipped`."""
    placeholders = ", ".join("?" for _ in skipped)
    txn.execute(
        "SELECT name FROM users WHERE name > ? AND deactivated = 0 AND COALESCE(is_guest, 0) = 0"
        " AND appservice_id IS NULL AND name NOT IN ("
        f"  SELECT user_id FROM local_current_membership WHERE room_id = ? AND membership IN ({placeholders})"
        ") ORDER BY name LIMIT ?",
        (after, room_id, *skipped, limit),
    )
    return [row[0] for row in txn.fetchall()]


EXPECTED_PARAMETERS = ["target_user", "requester", "room_id", "timeout"]


def typing_writer(api: ModuleApi) -> Any | None:
    """Synapse's typing writer handler, or None on a process that does not write typing."""
    hs = api._hs
    if hs.get_instance_name() not in hs.config.worker.writers.typing:
        return None
    return hs.get_typing_writer_handler()


def install_typing_filter(api: ModuleApi, passes_on: Callable[[str], Awaitable[bool]]) -> bool:
    """Wrap `started_typing` so a room where `passes_on(room_id)` is False gets no notification; True if installed."""
    handler = typing_writer(api)
    if handler is None:
        return False
    original = handler.started_typing
    if list(inspect.signature(original).parameters) != EXPECTED_PARAMETERS:
        logger.error("Synapse's started_typing changed (%s): typing in channels is passed on", inspect.signature(original))
        return False

    async def started_typing(target_user: Any, requester: Any, room_id: str, timeout: int) -> None:
        if await passes_on(room_id):
            await original(target_user, requester, room_id, timeout)

    handler.started_typing = started_typing
    return True


def presence_holders(api: ModuleApi) -> list[Any]:
    """The objects that hold Synapse's set of rooms excluded from presence on this process."""
    hs = api._hs
    return [hs.get_presence_handler(), hs.get_event_sources().sources.presence]


def presence_exclusion_works(api: ModuleApi) -> bool:
    """The start-up self-test: both holders carry the frozenset this adapter replaces."""
    try:
        return all(isinstance(getattr(holder, "_rooms_to_exclude_from_presence", None), frozenset) for holder in presence_holders(api))
    except Exception:
        logger.exception("Synapse's presence classes changed: channels share presence")
        return False


def exclude_from_presence(api: ModuleApi, room_ids: frozenset[str]) -> None:
    """Synapse's own `exclude_rooms_from_presence` plus `room_ids`, on this process."""
    excluded = frozenset(api._hs.config.server.rooms_to_exclude_from_presence) | room_ids
    for holder in presence_holders(api):
        holder._rooms_to_exclude_from_presence = excluded
