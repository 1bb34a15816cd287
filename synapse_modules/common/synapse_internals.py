"""Synapse features the module API does not offer yet (written against Synapse 1.163).

Server notices, account deactivation and joins without the client rate limits
exist in Synapse (and in its admin HTTP API or its own auto-join) but not in
`ModuleApi`; GovChat reaches them here, and only here, so a Synapse upgrade has
one place to check. Both keep Synapse's own behaviour:
a notice lands in the user's "server notices" room; deactivation ends every
session, refuses later logins, unbinds the e-mail (free to register again as a
new account, R1.4) and keeps messages as records (no erasure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from synapse.handlers.auth import AuthHandler
from synapse.handlers.deactivate_account import DeactivateAccountHandler
from synapse.handlers.room_member import RoomMemberHandler
from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError
from synapse.server_notices.server_notices_manager import ServerNoticesManager
from synapse.storage.engines._base import IsolationLevel
from synapse.types import UserID, create_requester

from govchat import schema

PINNED_SYNAPSE = "1.163"

# (what to call it in the message, the object, the attribute it must have)
Needed = tuple[str, object, str]


class SynapseInternalMissing(ConfigError):
    """Start-up refusal: something GovChat touches inside Synapse is gone (one line, naming it)."""


def missing_message(module: str, missing: str, adapter: str) -> str:
    return f"{module}: Synapse has no {missing} (GovChat is written against Synapse {PINNED_SYNAPSE}; update {adapter})"


def require_attributes(module: str, adapter: str, needed: Iterable[Needed]) -> None:
    """Raise SynapseInternalMissing naming the first `owner.attribute` that does not exist."""
    for label, owner, attribute in needed:
        if not hasattr(owner, attribute):
            raise SynapseInternalMissing(missing_message(module, f"{label}.{attribute}", adapter))


def missing_column(cursor: Any, tables: Mapping[str, Sequence[str]]) -> str | None:
    """`table X` or `column X.c` for the first table or column that cannot be read; None if all can.

    Reads no rows. Stops at the first failure: PostgreSQL refuses every later
    statement of a failed transaction."""
    for table, columns in tables.items():
        probes = [(f"table {table}", f"SELECT 1 FROM {table} WHERE 1 = 0")]
        probes += [(f"column {table}.{column}", f"SELECT {column} FROM {table} WHERE 1 = 0") for column in columns]
        for what, sql in probes:
            try:
                cursor.execute(sql)
                cursor.fetchall()
            except Exception:
                return what
    return None


def require_columns(api: ModuleApi, module: str, adapter: str, tables: Mapping[str, Sequence[str]]) -> None:
    """Raise SynapseInternalMissing naming the first of Synapse's tables or columns that is gone.

    A plain connection, at load time, on any process (main or worker)."""
    connection, _dialect = schema.connect(database_config(api))
    try:
        missing = missing_column(connection.cursor(), tables)
    finally:
        connection.close()
    if missing is not None:
        raise SynapseInternalMissing(missing_message(module, f"{missing} in its database", adapter))


HOMESERVER_GETTERS = ("get_server_notices_manager", "get_deactivate_account_handler", "get_room_member_handler", "get_auth_handler")


def self_test(api: ModuleApi) -> None:
    """What this file touches still exists (checked once per module load; cheap)."""
    hs = api._hs
    require_attributes(
        "GovChat",
        "synapse_modules/common/synapse_internals.py",
        [
            ("ModuleApi", api, "_hs"),
            *(("HomeServer", hs, getter) for getter in HOMESERVER_GETTERS),
            ("HomeServer", hs, "config"),
            ("HomeServer.config", getattr(hs, "config", None), "database"),
            ("ServerNoticesManager", ServerNoticesManager, "send_notice"),
            ("ServerNoticesManager", ServerNoticesManager, "is_enabled"),
            ("DeactivateAccountHandler", DeactivateAccountHandler, "deactivate_account"),
            ("RoomMemberHandler", RoomMemberHandler, "update_membership"),
            ("AuthHandler", AuthHandler, "delete_access_token"),
            ("IsolationLevel", IsolationLevel, "READ_COMMITTED"),
        ],
    )


async def send_server_notice(api: ModuleApi, user_id: str, body: str, html: str | None = None) -> None:
    manager = api._hs.get_server_notices_manager()
    if not manager.is_enabled():
        raise RuntimeError("server_notices is not configured in homeserver.yaml")
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if html is not None:
        content.update({"format": "org.matrix.custom.html", "formatted_body": html})
    await manager.send_notice(user_id, content)


async def deactivate_account(api: ModuleApi, user_id: str, by_admin_user_id: str) -> bool:
    """Deactivate without erasing messages; True if Synapse reports success."""
    handler = api._hs.get_deactivate_account_handler()
    requester = create_requester(by_admin_user_id)
    return bool(await handler.deactivate_account(user_id, erase_data=False, requester=requester, by_admin=True))


async def join_without_rate_limit(api: ModuleApi, user_id: str, room_id: str) -> None:
    """Join a local user to a room on the server's behalf, as Synapse's `auto_join_rooms` does.

    `ModuleApi.update_room_membership` applies the client rate limits, among them
    `rc_joins_per_room` (by default one join a second per room, burst 10), which a
    burst of registrations all joining INFO exceeds. The member handler fills in
    the profile as the module API would.
    """
    handler = api._hs.get_room_member_handler()
    await handler.update_membership(
        requester=create_requester(user_id, authenticated_entity=api.server_name),
        target=UserID.from_string(user_id),
        room_id=room_id,
        action="join",
        ratelimit=False,
    )


async def end_session(api: ModuleApi, access_token: str) -> None:
    """End one access token (sign-out). `ModuleApi.invalidate_access_token` fails in Synapse
    1.163 (it passes a Requester where a dict is expected), so this calls the auth handler it wraps."""
    await api._hs.get_auth_handler().delete_access_token(access_token)


def database_config(api: ModuleApi) -> dict[str, Any]:
    """Synapse's own `database:` section (`name` and `args`), for GovChat's start-up schema check."""
    databases = api._hs.config.database.databases
    return dict(databases[0].config)


# Synapse runs PostgreSQL transactions under REPEATABLE READ; a counter row that many
# requests update at once (the daily submission limit) needs READ COMMITTED, which
# `run_db_interaction(..., isolation_level=...)` accepts but only as Synapse's internal enum.
READ_COMMITTED = IsolationLevel.READ_COMMITTED
