"""HTTP API of the circulars library, under /_synapse/client/govchat/v1/circulars.

    GET    .../circulars                      administrators: every circular with status and paragraph count
    POST   .../circulars/{id}/import          administrators: {"format": "pdf"|"text", "content_base64", "title_ms"?, ...}
    POST   .../circulars/{id}/status          administrators: {"status": "in_force"|"amended"|"cancelled"|"unknown", "superseded_by"?}
    DELETE .../circulars/{id}                 administrators
    GET    .../circulars/library?since=REV    the whole library for Bot-GovChat; {"revision", "unchanged": true} if current
    GET    .../circulars/search?q=...         paragraphs and circulars answering a question

`library` and `search` need no sign-in for public circulars; with an access
token they cover every circular.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from bots.pkpa_bot.search import SearchEngine
from bots.pkpa_bot.search.passages import excerpt, highlight
from synapse_modules.circulars.rules import InvalidRequest
from synapse_modules.circulars.service import LibraryService
from synapse_modules.common.http import json_body, path_segments, query_value, require_server_admin

UNKNOWN_PATH = "Tiada fungsi pekeliling sedemikian. / There is no such circulars function."
QUERY_NEEDED = "Parameter q (soalan) diperlukan, hingga 300 aksara. / The q parameter (the question) is required, up to 300 characters."
MAX_QUERY = 300


class CircularsResource(DirectServeJsonResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, service: LibraryService) -> None:
        super().__init__()
        self._api = api
        self._service = service

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        path = path_segments(request)
        if not path:
            await require_server_admin(self._api, request)
            return 200, {"revision": await self._service.revision(), "circulars": await self._service.listing()}
        if path == ["library"]:
            public_only = not await _signed_in(self._api, request)
            since = query_value(request, "since")
            if since is not None and since == str(await self._service.revision()):
                return 200, {"revision": int(since), "unchanged": True}
            return 200, (await self._service.library(public_only)).to_json()
        if path == ["search"]:
            question = (query_value(request, "q") or "").strip()
            if not question or len(question) > MAX_QUERY:
                raise SynapseError(400, QUERY_NEEDED, Codes.INVALID_PARAM, additional_fields={"field": "q"})
            public_only = not await _signed_in(self._api, request)
            return 200, search_answer(await self._service.engine(public_only), question)
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        path = path_segments(request)
        body = json_body(request)
        if len(path) == 2 and path[1] == "import":
            return await _answer(lambda: self._service.import_document(path[0], body))
        if len(path) == 2 and path[1] == "status":
            return await _answer(lambda: self._service.set_status(path[0], body))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _async_render_DELETE(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        path = path_segments(request)
        if len(path) == 1:
            return await _answer(lambda: self._service.remove(path[0]))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)


async def _signed_in(api: ModuleApi, request: SynapseRequest) -> bool:
    """True with a valid access token; no token means a visitor; a bad token is a 401."""
    has_token = request.requestHeaders.hasHeader(b"Authorization") or b"access_token" in (request.args or {})
    if not has_token:
        return False
    await api.get_user_by_req(request)
    return True


async def _answer(action: Callable[[], Awaitable[dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
    try:
        return 200, await action()
    except InvalidRequest as problem:
        errcode = Codes.NOT_FOUND if problem.status == 404 else Codes.INVALID_PARAM
        raise SynapseError(problem.status, problem.message, errcode, additional_fields={"field": problem.field}) from None


def search_answer(engine: SearchEngine, question: str) -> dict[str, Any]:
    """Paragraphs that answer the question (with highlighted words) and the circulars it names or is about."""
    passages = engine.search_passages(question)
    circulars = engine.search(question, limit=5)
    items = []
    for hit in passages.hits:
        quote, spans = excerpt(hit.passage.text, highlight(hit.passage.text, hit.terms))
        circular = hit.circular
        items.append(
            {
                "circular_id": hit.passage.circular_id,
                "display_id": circular.display_id if circular else hit.passage.circular_id,
                "title_ms": circular.title_ms if circular else "",
                "status": circular.status_category if circular else "",
                "superseded_by": circular.superseded_by if circular else "",
                "section": hit.passage.section,
                "reference": hit.passage.reference,
                "heading": hit.passage.heading,
                "quote": quote,
                "highlights": [list(span) for span in spans],
            }
        )
    return {
        "question": question,
        "passages": items,
        "circulars": [
            {
                "id": c.id,
                "display_id": c.display_id,
                "title_ms": c.title_ms,
                "subject_en": c.subject_en,
                "status": c.status_category,
                "superseded_by": c.superseded_by,
            }
            for c in (circulars.circulars if circulars.found else ())
        ],
    }
