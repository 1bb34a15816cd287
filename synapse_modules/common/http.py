"""Helpers for GovChat's HTTP resources under /_synapse/client/govchat/."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import ModuleApi

GOVCHAT_API_PREFIX = "/_synapse/client/govchat/v1"

NOT_JSON = "Kandungan permintaan bukan JSON yang sah. / The request body is not valid JSON."
NOT_AN_ADMINISTRATOR = (
    "Hanya pentadbir pelayan GovChat boleh menggunakan fungsi ini. / "
    "Only GovChat server administrators may use this function."
)


async def require_server_admin(api: ModuleApi, request: SynapseRequest) -> str:
    """The requesting administrator's user ID; 401 without a valid token, 403 for others."""
    requester = await api.get_user_by_req(request)
    user_id = requester.user.to_string()
    if not await api.is_user_admin(user_id):
        raise SynapseError(403, NOT_AN_ADMINISTRATOR, Codes.FORBIDDEN)
    return user_id


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise SynapseError(
            400,
            f"Parameter limit mesti nombor 1 hingga {maximum}. / The limit parameter must be a number from 1 to {maximum}.",
            Codes.INVALID_PARAM,
        )
    return int(raw)


def path_segments(request: SynapseRequest) -> list[str]:
    """The URL-decoded path below the resource, e.g. ['!room:x', 'owners']."""
    return [unquote(part.decode("utf-8", errors="replace")) for part in request.postpath or [] if part]


def query_value(request: SynapseRequest, name: str) -> str | None:
    args: dict[bytes, list[bytes]] = request.args or {}
    values = args.get(name.encode())
    return values[0].decode("utf-8", errors="replace") if values else None


def json_body(request: SynapseRequest) -> Any:
    """The request's JSON (an empty body is {}); anything else is a 400 naming the body."""
    raw = request.content.read() if request.content is not None else b""
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        raise SynapseError(400, NOT_JSON, Codes.NOT_JSON, additional_fields={"field": "body"}) from None


class RequestRefused(Exception):
    """Refused; `code` is the HTTP status, `message` one bilingual sentence, `field` the input at fault."""

    def __init__(self, code: int, errcode: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.errcode = errcode
        self.message = message
        self.field = field
