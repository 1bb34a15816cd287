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

import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from synapse.api.constants import EventTypes
from synapse.handlers.auth import AuthHandler
from synapse.handlers.deactivate_account import DeactivateAccountHandler
from synapse.handlers.room_member import RoomMemberHandler
from synapse.module_api import ModuleApi
from synapse.module_api.callbacks.third_party_event_rules_callbacks import ThirdPartyEventRulesModuleApiCallbacks
from synapse.module_api.errors import ConfigError
from synapse.server_notices.server_notices_manager import ServerNoticesManager
from synapse.storage.engines._base import IsolationLevel
from synapse.types import UserID, create_requester
from synapse.types.state import StateFilter

from govchat import schema

if TYPE_CHECKING:
    from synapse.events import EventBase

logger = logging.getLogger(__name__)

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


HOMESERVER_GETTERS = (
    "get_server_notices_manager",
    "get_deactivate_account_handler",
    "get_room_member_handler",
    "get_auth_handler",
    "get_module_api_callbacks",
)


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
            ("ThirdPartyEventRulesModuleApiCallbacks", ThirdPartyEventRulesModuleApiCallbacks, "check_event_allowed"),
            ("StateFilter", StateFilter, "freeze"),
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


# --- check_event_allowed sees the state the rules read, not every member -------------

# Synapse hands every `check_event_allowed` callback the room's whole state, loading one
# event per member for every event in the room: in INFO (every user) that is the whole
# staff list per post, per join, per redaction. GovChat's callbacks read only the room's
# settings (every non-member state event: create, power levels, join rules, the channel
# marker...) and the memberships of the users an event is about, so Synapse is given a
# context that answers only those: the sender, the member event's subject and, for a
# redaction, the member whose event it redacts. Synapse keeps member and non-member state
# in separate caches, so this look-up does not grow with the room.
EVENT_RULES_PARAMETERS = ["event", "context"]


class _StateTheRulesRead:
    """An event context whose `get_prev_state_ids` answers the settings and the named members only."""

    def __init__(self, context: Any, members: frozenset[str]) -> None:
        self._context = context
        self._filter = StateFilter.freeze({EventTypes.Member: members}, include_others=True)

    async def get_prev_state_ids(self, state_filter: StateFilter | None = None) -> Any:
        # Synapse asks for "everything" (no filter); a narrower question is answered as asked.
        return await self._context.get_prev_state_ids(self._filter if state_filter is None else state_filter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


async def members_an_event_is_about(store: Any, event: EventBase) -> frozenset[str]:
    members = {event.sender}
    if event.type == EventTypes.Member:
        members.add(event.state_key)
    redacts = event.redacts if event.type == EventTypes.Redaction else None
    if isinstance(redacts, str):
        target = await store.get_event(redacts, allow_none=True, allow_rejected=True)
        if target is not None and target.room_id == event.room_id and target.type == EventTypes.Member and target.is_state():
            members.add(target.state_key)
    return frozenset(members)


def event_rules_callbacks(api: ModuleApi) -> Any:
    return api._hs.get_module_api_callbacks().third_party_event_rules


def event_rules_wrappable(api: ModuleApi) -> bool:
    """The start-up self-test of `pass_only_the_state_the_rules_read`."""
    callbacks = event_rules_callbacks(api)
    return list(inspect.signature(callbacks.check_event_allowed).parameters) == EVENT_RULES_PARAMETERS


def pass_only_the_state_the_rules_read(api: ModuleApi) -> bool:
    """Wrap Synapse's `check_event_allowed` on this process (once); True if it is wrapped."""
    callbacks = event_rules_callbacks(api)
    if getattr(callbacks, "_govchat_state_the_rules_read", False):
        return True
    if not event_rules_wrappable(api):
        logger.error("Synapse's check_event_allowed changed: GovChat's event rules get the room's whole state")
        return False
    original = callbacks.check_event_allowed
    store = callbacks.store

    async def check_event_allowed(event: EventBase, context: Any) -> Any:
        return await original(event, _StateTheRulesRead(context, await members_an_event_is_about(store, event)))

    callbacks.check_event_allowed = check_event_allowed
    callbacks._govchat_state_the_rules_read = True
    return True
