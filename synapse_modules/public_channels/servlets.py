"""Admin HTTP API for channels, under /_synapse/client/govchat/v1/channels.

    GET    .../channels                               list, with member counts
    POST   .../channels                               {"name", "alias", "topic", "owners": [user IDs]}
    POST   .../channels/{room ID or alias}/owners     {"user_id"}
    DELETE .../channels/{room ID or alias}/owners/{user ID}
    POST   .../channels/{room ID or alias}/archive
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.common.http import json_body, path_segments, require_server_admin
from synapse_modules.public_channels.requests import InvalidRequest, parse_new_channel
from synapse_modules.public_channels.service import ChannelNotFound, ChannelService

UNKNOWN_PATH = "Tiada fungsi saluran sedemikian. / There is no such channel function."


class ChannelsResource(DirectServeJsonResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, service: ChannelService) -> None:
        super().__init__()
        self._api = api
        self._service = service

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        if path_segments(request):
            raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)
        return 200, {"channels": await self._service.list_channels()}

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        path = path_segments(request)
        body = json_body(request)
        if not path:
            return await _answer(lambda: self._service.create_channel(parse_new_channel(body, self._service.server_name)))
        if len(path) == 2 and path[1] == "owners":
            user_id = body.get("user_id") if isinstance(body, dict) else None
            return await _answer(lambda: self._service.add_owner(path[0], user_id))
        if len(path) == 2 and path[1] == "archive":
            return await _answer(lambda: self._service.archive(path[0]))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _async_render_DELETE(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        path = path_segments(request)
        if len(path) == 3 and path[1] == "owners":
            return await _answer(lambda: self._service.remove_owner(path[0], path[2]))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)


async def _answer(action: Callable[[], Awaitable[dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
    try:
        return 200, await action()
    except InvalidRequest as problem:
        raise SynapseError(400, problem.message, Codes.INVALID_PARAM, additional_fields={"field": problem.field}) from None
    except ChannelNotFound as missing:
        raise SynapseError(
            404,
            f"Tiada saluran {missing.args[0]}. / There is no channel {missing.args[0]}.",
            Codes.NOT_FOUND,
        ) from None


