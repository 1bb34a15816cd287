"""The only place edit_window reaches into Synapse internals (written against Synapse 1.163).

The module API has no public way to fetch one event by ID, so `fetch_event`
uses the module API's private store. It asks for the event as stored
(`as_is`): a redacted edit must still show which message it replaced, or a new
edit pointing at it would be measured from the wrong message.

If a Synapse upgrade moves these names, every edit and redaction is refused
(fail closed, logged) and the integration tests fail loudly.
"""

from __future__ import annotations

from synapse.events import EventBase
from synapse.module_api import ModuleApi
from synapse.storage.databases.main.events_worker import EventRedactBehaviour


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
