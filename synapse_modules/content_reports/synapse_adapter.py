"""The only place content_reports reaches into Synapse internals (written against Synapse 1.163).

Synapse stores what Element's "Report" sends in three tables and has no module
callback for a new report. GovChat reads them from the background-tasks process
(one reader, whatever the number of workers), after a cursor kept in its own table:

- `event_reports (id, received_ts, room_id, event_id, user_id, reason, content)`:
  `POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}`
- `room_reports (id, received_ts, room_id, user_id, reason)`: `POST .../rooms/{roomId}/report`
- `user_reports (id, received_ts, target_user_id, user_id, reason)`: `POST .../users/{userId}/report`

and the list of active server administrators from `users (name, admin, deactivated)`.
A room's moderators are found with Synapse's own power-level rule (`event_auth`), which
knows that room creators outrank everyone in room version 12 (GovChat's default).
`self_test_at_start` checks every column used here when the module loads, and
stops start-up with one line naming the first one missing; `self_test` checks them
again before the intake's first poll: if one is gone, the intake stops with one
error line (and the `govchat_content_reports_intake_up` metric drops to 0) instead
of misreading rows.

Events are fetched through the edit window's adapter (the same private store call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse import event_auth
from synapse.event_auth import get_named_level, get_user_power_level
from synapse.events import EventBase
from synapse.module_api import ModuleApi
from synapse.types import StateMap

from synapse_modules.common.synapse_internals import (
    SynapseInternalMissing,
    missing_column,
    missing_message,
    require_attributes,
    require_columns,
)
from synapse_modules.content_reports import rules
from synapse_modules.edit_window.synapse_adapter import fetch_event as _fetch_event

ADAPTER = "synapse_modules/content_reports/synapse_adapter.py"
SYNAPSE_COLUMNS = {
    "event_reports": ("id", "received_ts", "user_id", "reason", "room_id", "event_id"),
    "room_reports": ("id", "received_ts", "user_id", "reason", "room_id"),
    "user_reports": ("id", "received_ts", "user_id", "reason", "target_user_id"),
    "users": ("name", "admin", "deactivated"),
}

# Source (our name) -> Synapse's table and the columns read, in RawReport order.
_SOURCES = {
    rules.EVENT: ("event_reports", "id, received_ts, user_id, reason, room_id, event_id, NULL"),
    rules.ROOM: ("room_reports", "id, received_ts, user_id, reason, room_id, NULL, NULL"),
    rules.USER: ("user_reports", "id, received_ts, user_id, reason, NULL, NULL, target_user_id"),
}


@dataclass(frozen=True)
class RawReport:
    source: str  # rules.EVENT, rules.ROOM or rules.USER
    report_id: int
    received_ts: int
    reporter: str
    reason: str
    room_id: str | None
    event_id: str | None
    target_user_id: str | None


def read_reports(txn: Any, source: str, after_id: int, since_ts: int, limit: int) -> list[RawReport]:
    """Reports with an ID after the cursor, and any received since `since_ts`.

    Synapse hands out report IDs in memory before the row is written, so a lower ID
    can be committed just after a higher one was read; looking back by time catches
    those. Reports already taken in are skipped by the caller's unique key.
    """
    table, columns = _SOURCES[source]
    txn.execute(
        f"SELECT {columns} FROM {table} WHERE id > ? OR received_ts >= ? ORDER BY id LIMIT ?",
        (after_id, since_ts, limit),
    )
    return [
        RawReport(
            source=source, report_id=int(row[0]), received_ts=int(row[1]), reporter=str(row[2]), reason=str(row[3] or ""),
            room_id=row[4], event_id=row[5], target_user_id=row[6],
        )
        for row in txn.fetchall()
    ]


def active_administrators(txn: Any) -> list[str]:
    txn.execute("SELECT name FROM users WHERE admin = 1 AND deactivated = 0 ORDER BY name")
    return [str(row[0]) for row in txn.fetchall()]


def self_test(txn: Any) -> None:
    """Raise naming the first table or column read here that is missing (no rows are read)."""
    missing = missing_column(txn, SYNAPSE_COLUMNS)
    if missing is not None:
        raise SynapseInternalMissing(missing_message("content_reports", f"{missing} in its database", ADAPTER))


def self_test_at_start(api: ModuleApi) -> None:
    """When the module loads, on every process: the tables, and the power-level rule used here."""
    require_columns(api, "content_reports", ADAPTER, SYNAPSE_COLUMNS)
    require_attributes("content_reports", ADAPTER, [("synapse.event_auth", event_auth, "get_user_power_level"), ("synapse.event_auth", event_auth, "get_named_level")])


async def fetch_event(api: ModuleApi, event_id: str) -> EventBase | None:
    return await _fetch_event(api, event_id)


def moderation_levels(state: StateMap[EventBase], members: list[str]) -> tuple[dict[str, int], int]:
    """Each member's power level in the room, and the level needed to delete other people's messages."""
    if ("m.room.create", "") not in state:
        return {}, 0
    return {user_id: get_user_power_level(user_id, state) for user_id in members}, get_named_level(state, "redact", 50)
