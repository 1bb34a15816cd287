"""Synapse features the module API does not offer yet (written against Synapse 1.163).

Server notices and account deactivation exist in Synapse (and in its admin HTTP
API) but not in `ModuleApi`; GovChat reaches them here, and only here, so a
Synapse upgrade has one place to check. Both keep Synapse's own behaviour:
a notice lands in the user's "server notices" room; deactivation ends every
session, refuses later logins, unbinds the e-mail (free to register again as a
new account, R1.4) and keeps messages as records (no erasure).
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi
from synapse.types import create_requester


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
