"""Admin HTTP API: which agency each user registered under."""

from __future__ import annotations

from typing import Any

from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.common.http import parse_limit, query_value, require_server_admin
from synapse_modules.govchat_auth.store import UserAgencyStore

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class UserAgenciesResource(DirectServeJsonResource):
    """GET .../users/agencies?from=<user id>&limit=<n>: one page, ordered by user ID."""

    def __init__(self, api: ModuleApi, store: UserAgencyStore) -> None:
        super().__init__()
        self._api = api
        self._store = store

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        after = query_value(request, "from") or ""
        limit = parse_limit(query_value(request, "limit"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        records = await self._store.page(after, limit)
        answer: dict[str, Any] = {"users": [record.as_dict() for record in records]}
        if len(records) == limit:
            answer["next_from"] = records[-1].user_id
        return 200, answer

