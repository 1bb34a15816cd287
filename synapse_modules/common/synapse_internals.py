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

from typing import Any

from synapse.module_api import ModuleApi
from synapse.storage.engines._base import IsolationLevel
from synapse.types import UserID, create_requester


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


def database_config(api: ModuleApi) -> dict[str, Any]:
    """Synapse's own `database:` section (`name` and `args`), for GovChat's start-up schema check."""
    databases = api._hs.config.database.databases
    return dict(databases[0].config)


# Synapse runs PostgreSQL transactions under REPEATABLE READ; a counter row that many
# requests update at once (the daily submission limit) needs READ COMMITTED, which
# `run_db_interaction(..., isolation_level=...)` accepts but only as Synapse's internal enum.
READ_COMMITTED = IsolationLevel.READ_COMMITTED
