"""The public channels module's reads of Synapse's own tables (written against Synapse 1.163).

The module API answers one room's state at a time, but has no list of the rooms
whose current state holds an event type (every channel), no member count without
loading the whole member list, and no list of local users: queries on
`current_state_events`, `local_current_membership` and `users` answer those in one
statement each, on every process. Nothing is cached in memory, so any worker sees
the same channels and members.

`self_test` (run when the module loads) names the first table or column a Synapse
upgrade removed.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY
from synapse_modules.common.synapse_internals import require_columns

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
