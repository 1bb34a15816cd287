"""The only place edit_window reaches into Synapse internals (written against Synapse 1.163).

The module API has no public way to fetch one event by ID, so `fetch_event`
uses the module API's private store. It asks for the event as stored
(`as_is`): a redacted edit must still show which message it replaced, or a new
edit pointing at it would be measured from the wrong message.

`refuse_self_erasure` wraps `DeactivateAccountHandler.deactivate_account`, the one
path of every deactivation (client API, admin API, GovChat's own), because no module
callback sees the `erase` flag: `check_can_deactivate_user` gets only the user and
`by_admin`. A user's own request with erase is refused before anything changes.

If a Synapse upgrade moves these names, start-up stops with one line naming the
first one missing (`self_test`, run when the module loads); should one slip past,
every edit and redaction is refused (fail closed, logged) and the integration
tests fail loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.events import EventBase
from synapse.handlers.deactivate_account import DeactivateAccountHandler
from synapse.module_api import ModuleApi
from synapse.storage.databases.main.events_worker import EventRedactBehaviour

from synapse_modules.common.synapse_internals import require_attributes


def self_test(api: ModuleApi) -> None:
    """Start-up: raise naming the first Synapse name used here that is gone."""
    require_attributes(
        "edit_window",
        "synapse_modules/edit_window/synapse_adapter.py",
        [
            ("ModuleApi", api, "_store"),
            ("ModuleApi._store", getattr(api, "_store", None), "get_event"),
            ("EventRedactBehaviour", EventRedactBehaviour, "as_is"),
            ("DeactivateAccountHandler", DeactivateAccountHandler, "deactivate_account"),
        ],
    )


async def fetch_event(api: ModuleApi, event_id: str) -> EventBase | None:
    return await api._store.get_event(  # noqa: SLF001 - no public equivalent in Synapse 1.163
        event_id,
        redact_behaviour=EventRedactBehaviour.as_is,
        allow_none=True,
    )


def sent_from_a_device(event: EventBase) -> bool:
    """Whether a user's device sent the event through the client API.

    Synapse 1.163 records the requester's device on every event a logged-in
    device creates. Events the server issues itself in a user's name (the admin
    API's user redaction, server notices) carry none, and so do events sent with
    an administrator's puppet token (admin API user login) or by an application
    service, both of which only the operator can hand out.
    """
    return bool(getattr(event.internal_metadata, "device_id", None))


def refuse_self_erasure(may_erase: Callable[[bool, bool], bool], sentence: str) -> None:
    """Refuse `erase_data` unless `may_erase(erase, by_admin)`; safe to call more than once."""
    original = DeactivateAccountHandler.deactivate_account
    if getattr(original, "govchat_wrapped", False):
        return

    async def deactivate_account(self: DeactivateAccountHandler, user_id: str, erase_data: bool, *args: Any, **kwargs: Any) -> bool:
        by_admin = bool(kwargs.get("by_admin", args[2] if len(args) > 2 else False))
        if not may_erase(bool(erase_data), by_admin):
            raise SynapseError(403, sentence, Codes.FORBIDDEN)
        return await original(self, user_id, erase_data, *args, **kwargs)

    deactivate_account.govchat_wrapped = True  # type: ignore[attr-defined]
    DeactivateAccountHandler.deactivate_account = deactivate_account  # type: ignore[method-assign]
