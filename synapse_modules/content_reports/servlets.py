"""JSON API under /_synapse/client/govchat/v1/content-reports, for server administrators only
(Authorization: Bearer <access token>; 401 without one, 403 for everyone else).

    GET  .../content-reports?state=&limit=      queue items, newest first (state: new, under_review, acted_on, dismissed)
    GET  .../content-reports/{item}             one item: what is known, every report, the audit trail
    POST .../content-reports/{item}/review      {"note"?}   new -> under_review
    POST .../content-reports/{item}/remove      {"note"?}   remove the message (any age: moderation)
    POST .../content-reports/{item}/warn        {"note"?}   server notice to the sender, Malay and English
    POST .../content-reports/{item}/cancel_account {"note"} start an A5 cancellation for a breach (R1.6)
    POST .../content-reports/{item}/dismiss     {"note"}    nothing to act on
"""

from __future__ import annotations

from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.common.http import json_body, parse_limit, path_segments, query_value, require_server_admin
from synapse_modules.content_reports.service import ContentReportService, ReportError

UNKNOWN_PATH = "Tiada fungsi laporan sedemikian. / There is no such reports function."


class ContentReportsResource(DirectServeJsonResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, service: ContentReportService) -> None:
        super().__init__()
        self._api = api
        self._service = service

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, Any]:
        await require_server_admin(self._api, request)
        path = path_segments(request)
        with answering():
            if not path:
                limit = parse_limit(query_value(request, "limit"), 100, 1000)
                items = await self._service.listing(query_value(request, "state"), limit)
                shown = [await self._service.present(item, full=False) for item in items]
                return 200, {"reports": shown, "held": await self._service.store.held_count()}
            if len(path) == 1:
                return 200, await self._service.present(await self._service.item(path[0]))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, Any]:
        admin = await require_server_admin(self._api, request)
        path = path_segments(request)
        body = json_body(request)
        with answering():
            if len(path) == 2:
                return 200, await self._service.present(await self._service.act(admin, path[0], path[1], body))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)


class answering:
    """Turn a ReportError into the SynapseError the client sees (errcode, bilingual sentence, field)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if isinstance(error, ReportError):
            extra = {"field": error.field} if error.field else None
            raise SynapseError(error.code, error.message, error.errcode, additional_fields=extra) from None
