"""Typing and presence in channels, where Synapse has no module callback (written against Synapse 1.163).

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

logger = logging.getLogger(__name__)

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
