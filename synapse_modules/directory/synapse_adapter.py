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

If a Synapse upgrade moves the name, start-up fails here loudly and the
integration test of the profile lock fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.handlers.profile import ProfileHandler

NameRefusal = Callable[[str, object], Awaitable["str | None"]]

_refusals: list[NameRefusal] = []


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
