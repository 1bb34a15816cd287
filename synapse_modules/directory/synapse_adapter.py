"""The directory module's one reach into Synapse internals (written against Synapse 1.163).

Synapse has no module callback that can refuse a profile change: `on_profile_update`
runs afterwards and cannot refuse, and `enable_set_displayname: false` is one switch
for the whole server, with an English-only message, where GovChat locks names only
for agencies whose directory says so. So this adapter wraps
`ProfileHandler.set_displayname`, through which every display-name change passes
(`PUT /profile/{user}/displayname`, the generic profile-field endpoint, and the
replication endpoint on the profile writer), and refuses a locked user's own change
with 403 M_FORBIDDEN and GovChat's sentence. Changes made by an administrator
(`by_admin`, including GovChat's own `ModuleApi.set_displayname`) pass.

The sync also needs to know which accounts are still active: it reads the
`deactivated` flag of Synapse's `users` table beside GovChat's own record of who
holds which address (`govchat_email_accounts`), in one query; the module API
can only ask user by user (`get_userinfo_by_id`), one query per account each run.

`self_test` (run when the module loads) names the first of these that a Synapse
upgrade removed; the integration test of the profile lock fails too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.handlers.profile import ProfileHandler
from synapse.module_api import ModuleApi

from synapse_modules.common.synapse_internals import require_attributes, require_columns
from synapse_modules.directory.rules import Account

ADAPTER = "synapse_modules/directory/synapse_adapter.py"
SYNAPSE_COLUMNS = {"users": ("name", "deactivated")}

NameRefusal = Callable[[str, object], Awaitable["str | None"]]

_refusals: list[NameRefusal] = []


def self_test(api: ModuleApi) -> None:
    """Start-up: raise naming the first Synapse method, table or column used here that is gone."""
    require_attributes("directory", ADAPTER, [("ProfileHandler", ProfileHandler, "set_displayname")])
    require_columns(api, "directory", ADAPTER, SYNAPSE_COLUMNS)


def active_bound_accounts(txn: Any) -> list[Account]:
    """Accounts holding an address in GovChat's record whose Synapse account is not deactivated."""
    txn.execute(
        "SELECT m.user_id, m.email FROM govchat_email_accounts m JOIN users u ON u.name = m.user_id"
        " WHERE m.state = 'bound' AND u.deactivated = 0 ORDER BY m.user_id"
    )
    return [Account(user_id=row[0], email=str(row[1]).lower()) for row in txn.fetchall()]


def install(name_refusal: NameRefusal) -> None:
    """Refuse display-name changes `name_refusal` objects to; safe to call more than once."""
    _refusals[:] = [name_refusal]
    original = ProfileHandler.set_displayname
    if getattr(original, "govchat_wrapped", False):
        return

    async def set_displayname(self: ProfileHandler, *, target_user: Any, requester: Any, new_displayname: str, by_admin: bool = False, **kwargs: Any) -> Any:
        if not by_admin:
            for refusal in list(_refusals):
                sentence = await refusal(target_user.to_string(), new_displayname)
                if sentence is not None:
                    raise SynapseError(403, sentence, Codes.FORBIDDEN)
        return await original(self, target_user=target_user, requester=requester, new_displayname=new_displayname, by_admin=by_admin, **kwargs)

    set_displayname.govchat_wrapped = True  # type: ignore[attr-defined]
    ProfileHandler.set_displayname = set_displayname  # type: ignore[method-assign]
