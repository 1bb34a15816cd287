"""JSON API under /_synapse/client/govchat/v1/applications (Authorization: Bearer <access token>).

    POST   .../applications                       submit {"kind", "applicant": {...}, "details": {...}}
    GET    .../applications?state=&kind=&limit=   what the caller may see, newest first
    GET    .../applications/{id}                  one application with its audit trail
    POST   .../applications/{id}/endorse          head of department {"note"?}
    POST   .../applications/{id}/approve          administrator {"note"?}
    POST   .../applications/{id}/reject           head (before endorsement) or administrator {"note"}
    POST   .../applications/{id}/carry_out        administrator: retry a failed carrying out {"channel_alias"?}
    GET    .../applications/heads                 administrators: designated heads
    POST   .../applications/heads                 administrators: {"domain", "user_id"}
    DELETE .../applications/heads/{domain}/{user id}
"""

from __future__ import annotations

import re
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.applications import workflow
from synapse_modules.applications.service import ApplicationError, ApplicationService, now_ms
from synapse_modules.common.http import json_body, parse_limit, path_segments, query_value, require_server_admin

UNKNOWN_PATH = "Tiada fungsi permohonan sedemikian. / There is no such applications function."
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_USER_ID = re.compile(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.:-]+")


class ApplicationsResource(DirectServeJsonResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, service: ApplicationService) -> None:
        super().__init__()
        self._api = api
        self._service = service

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, Any]:
        path = path_segments(request)
        if path == ["heads"]:
            await require_server_admin(self._api, request)
            return 200, {"heads": [{"domain": d, "user_id": u} for d, u in await self._service.store.heads()]}
        viewer = await self._viewer(request)
        with _answering():
            if not path:
                limit = parse_limit(query_value(request, "limit"), 100, 1000)
                found = await self._service.listing(viewer, query_value(request, "state"), query_value(request, "kind"), limit)
                return 200, {"applications": [_summary(self._service.present(a)) for a in found]}
            if len(path) == 1:
                return 200, self._service.present(await self._service.visible(viewer, path[0]))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, Any]:
        path = path_segments(request)
        if path == ["heads"]:
            admin = await require_server_admin(self._api, request)
            domain, user_id = _head(json_body(request))
            await self._service.store.add_head(domain, user_id, admin, now_ms())
            return 200, {"domain": domain, "user_id": user_id}
        viewer = await self._viewer(request)
        body = json_body(request)
        with _answering():
            if not path:
                return 201, self._service.present(await self._service.submit(viewer.user_id, body))
            if len(path) == 2 and path[1] in workflow.ACTIONS:
                return 200, self._service.present(await self._service.act(viewer, path[0], path[1], body))
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _async_render_DELETE(self, request: SynapseRequest) -> tuple[int, Any]:
        path = path_segments(request)
        await require_server_admin(self._api, request)
        if len(path) == 3 and path[0] == "heads":
            if not await self._service.store.remove_head(path[1], path[2]):
                raise SynapseError(404, "Tiada ketua sedemikian. / There is no such head.", Codes.NOT_FOUND)
            return 200, {}
        raise SynapseError(404, UNKNOWN_PATH, Codes.UNRECOGNIZED)

    async def _viewer(self, request: SynapseRequest) -> workflow.Viewer:
        requester = await self._api.get_user_by_req(request)
        return await self._service.viewer(requester.user.to_string())


class _answering:
    """Turn an ApplicationError into the SynapseError the client sees."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if isinstance(error, ApplicationError):
            extra = {"field": error.field} if error.field else None
            raise SynapseError(error.code, error.message, error.errcode, additional_fields=extra) from None


def _summary(application: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in application.items() if key != "audit"}


def _head(body: Any) -> tuple[str, str]:
    domain = body.get("domain") if isinstance(body, dict) else None
    user_id = body.get("user_id") if isinstance(body, dict) else None
    for field, value in (("domain", domain), ("user_id", user_id)):
        if value is None or value == "":
            raise SynapseError(400, f"Medan {field} wajib diisi. / The {field} field is required.", Codes.MISSING_PARAM, additional_fields={"field": field})
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain.lower()):
        raise SynapseError(400, "Medan domain mesti domain agensi seperti mampu.gov.my. / The domain field must be an agency domain such as mampu.gov.my.", Codes.INVALID_PARAM, additional_fields={"field": "domain"})
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise SynapseError(400, "Medan user_id mesti ID pengguna. / The user_id field must be a user ID.", Codes.INVALID_PARAM, additional_fields={"field": "user_id"})
    return domain.lower(), user_id



