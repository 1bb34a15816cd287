"""The monthly report's reads of Synapse's own tables (written against Synapse 1.163).

- Users per agency at a month's end: GovChat's `govchat_user_agencies` knows each
  account's agency, but only Synapse's `users` table knows when the account was
  created and whether it is deactivated now (accounts deactivated before GovChat
  recorded the moment have no `govchat_user_deactivations` row). The module API
  asks user by user; one grouped query answers for every agency.
- Channels created before a month's end: rooms whose current state holds the
  channel marker (`current_state_events`, with the marker's content from
  `event_json`), created (`events`, the `m.room.create` event) before the end. The
  module API has no list of rooms by state event type.

`self_test` (run when the module loads) names the first table or column a Synapse
upgrade removed.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY
from synapse_modules.common.synapse_internals import require_columns

ADAPTER = "synapse_modules/reports/synapse_adapter.py"
SYNAPSE_COLUMNS = {
    "users": ("name", "creation_ts", "deactivated"),
    "current_state_events": ("room_id", "type", "state_key", "event_id"),
    "event_json": ("event_id", "json"),
    "events": ("event_id", "origin_server_ts"),
}


def self_test(api: ModuleApi) -> None:
    require_columns(api, "reports", ADAPTER, SYNAPSE_COLUMNS)


def users_by_agency(txn: Any, end_ms: int) -> list[tuple[Any, ...]]:
    """(domain, name, ministry, count) of accounts with a recorded agency, created before `end_ms` and active then."""
    txn.execute(
        "SELECT a.agency_domain, a.agency_name, a.ministry, COUNT(*)"
        " FROM govchat_user_agencies a JOIN users u ON u.name = a.user_id"
        " LEFT JOIN govchat_user_deactivations d ON d.user_id = a.user_id"
        " WHERE u.creation_ts * 1000 < ? AND (u.deactivated = 0 OR d.deactivated_ts >= ?)"
        " GROUP BY a.agency_domain, a.agency_name, a.ministry",
        (end_ms, end_ms),
    )
    return list(txn.fetchall())


def channel_markers_created_before(txn: Any, end_ms: int) -> list[tuple[str, str]]:
    """(room ID, the marker event's JSON) of each channel room created before `end_ms`."""
    txn.execute(
        "SELECT c.room_id, j.json FROM current_state_events c"
        " JOIN event_json j ON j.event_id = c.event_id"
        " JOIN current_state_events cc ON cc.room_id = c.room_id AND cc.type = 'm.room.create' AND cc.state_key = ''"
        " JOIN events ce ON ce.event_id = cc.event_id"
        " WHERE c.type = ? AND c.state_key = ? AND ce.origin_server_ts < ?"
        " ORDER BY c.room_id",
        (CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY, end_ms),
    )
    return list(txn.fetchall())
