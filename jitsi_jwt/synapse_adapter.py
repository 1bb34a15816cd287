"""The only places GCMeet reads Synapse internals (written against Synapse 1.163).

Synapse's module API has no call to check a Matrix OpenID token: Synapse checks
them only in the federation `/_matrix/federation/v1/openid/userinfo` servlet,
which is not mounted while federation is off. So the token is looked up the way
that servlet does, in Synapse's own store. Room-version flags for creators'
power (MSC4289, room v12) are read from the create event the public
`get_room_state` call returns.

If a Synapse upgrade renames these, start-up (the hasattr check) or the
integration tests in tests/integration/test_gcmeet.py fail loudly.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi


def check_openid_store_available(api: ModuleApi) -> None:
    if not hasattr(api._store, "get_user_id_for_open_id_token"):
        raise RuntimeError("gcmeet: this Synapse has no get_user_id_for_open_id_token; check jitsi_jwt/synapse_adapter.py")


async def openid_token_owner(api: ModuleApi, token: str, now_ms: int) -> str | None:
    """The local user an unexpired OpenID token was issued to, or None."""
    user_id: str | None = await api._store.get_user_id_for_open_id_token(token, now_ms)  # type: ignore[union-attr]
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
