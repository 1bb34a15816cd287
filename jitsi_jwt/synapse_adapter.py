"""The only places GCMeet reads Synapse internals (written against Synapse 1.163).

Synapse's module API has no call to check a Matrix OpenID token: Synapse checks
them only in the federation `/_matrix/federation/v1/openid/userinfo` servlet,
which is not mounted while federation is off. So the token is looked up the way
that servlet's store method does, with the same query on Synapse's
`open_id_tokens` table (token, ts_valid_until_ms, user_id), through
`run_db_interaction`: the store method itself exists only on the main process's
store, which stopped every worker from starting. Room-version flags for creators'
power (MSC4289, room v12) are read from the create event the public
`get_room_state` call returns.

If a Synapse upgrade renames these, start-up stops with one line naming the
missing table or column, or the integration tests in tests/integration/test_gcmeet.py fail.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.common.synapse_internals import require_columns

_OPENID_QUERY = "SELECT user_id FROM open_id_tokens WHERE token = ? AND ? <= ts_valid_until_ms"


def check_openid_tokens_readable(api: ModuleApi) -> None:
    """Start-up self-test: the columns the OpenID look-up reads exist (on any process, main or worker)."""
    require_columns(api, "gcmeet", "jitsi_jwt/synapse_adapter.py", {"open_id_tokens": ("token", "ts_valid_until_ms", "user_id")})


async def openid_token_owner(api: ModuleApi, token: str, now_ms: int) -> str | None:
    """The local user an unexpired OpenID token was issued to, or None."""

    def select(txn: Any) -> str | None:
        txn.execute(_OPENID_QUERY, (token, now_ms))
        row = txn.fetchone()
        return str(row[0]) if row else None

    user_id: str | None = await api.run_db_interaction("govchat_gcmeet_openid_token", select)
    return user_id


def creators_of(create_event: Any) -> tuple[frozenset[str], bool]:
    """The room's creators and whether they outrank every power level (room v12 and later)."""
    if create_event is None:
        return frozenset(), False
    outrank = bool(getattr(create_event.room_version, "msc4289_creator_power_enabled", False))
    implicit = bool(getattr(create_event.room_version, "implicit_room_creator", False))
    creator = create_event.sender if implicit else create_event.content.get("creator", create_event.sender)
    creators = {creator}
    if outrank:
        extra = create_event.content.get("additional_creators")
        if isinstance(extra, list):
            creators.update(user for user in extra if isinstance(user, str))
    return frozenset(creators), outrank
