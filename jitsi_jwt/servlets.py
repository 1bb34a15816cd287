"""GCMeet's HTTP resources under /_synapse/client/govchat/v1/gcmeet/.

- POST token: a Jitsi JWT for one joined member of one room.
- POST verify/user_in_room and verify/user: the matrix-user-verification-service
  answers, so Prosody's mod_auth_matrix_user_verification can use this homeserver
  as its `uvs_base_url`.
- GET asap/<sha256 hex of kid>.pem: the RS256 public key for Prosody's asap_key_server.

Tokens (access, OpenID or JWT) never reach the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from synapse.api.errors import AuthError, Codes, LimitExceededError, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi, parse_json_object_from_request
from twisted.web.resource import Resource
from twisted.web.server import Request

from jitsi_jwt.config import GCMeetConfig
from jitsi_jwt.metrics import TOKENS_ISSUED, TOKENS_REFUSED, VERIFICATIONS
from jitsi_jwt.rules import Member, is_valid_room_id, issue_token, room_power_defaults
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.rate_limit import SharedTokenBucket

logger = logging.getLogger(__name__)

GCMEET_PREFIX = f"{GOVCHAT_API_PREFIX}/gcmeet"

BAD_JSON = (
    "Permintaan mesti objek JSON yang sah. / The request must be a valid JSON object."
)
BAD_ROOM_ID = (
    "room_id mesti ID bilik Matrix seperti !abc:govchat.example.gov.my. / "
    "room_id must be a Matrix room ID such as !abc:govchat.example.gov.my."
)
BAD_OPENID_TOKEN = (
    "openid_token mesti objek dengan access_token dan matrix_server_name. / "
    "openid_token must be an object with access_token and matrix_server_name."
)
UNKNOWN_TOKEN = (
    "Token tidak sah, telah tamat tempoh atau bukan daripada pelayan ini. / "
    "The token is invalid, expired or not from this server."
)
NOT_A_MEMBER = (
    "Hanya ahli perbualan ini boleh menyertai panggilannya. / "
    "Only members of this conversation may join its call."
)
TOO_MANY_REQUESTS = (
    "Terlalu banyak permintaan; cuba sebentar lagi. / Too many requests; try again shortly."
)
INTERNAL_ERROR = (
    "Panggilan tidak dapat disediakan sekarang; cuba lagi. / The call cannot be set up right now; try again."
)


class MemberLookup(Protocol):
    async def openid_token_owner(self, token: str) -> str | None: ...

    async def joined_member(self, room_id: str, user_id: str) -> tuple[Member | None, dict[str, Any] | None]: ...


class TokenResource(DirectServeJsonResource):
    """POST {"room_id", ["openid_token"]} with an access token or an OpenID token."""

    def __init__(self, api: ModuleApi, config: GCMeetConfig, members: MemberLookup, limits: SharedTokenBucket) -> None:
        super().__init__()
        self._api = api
        self._config = config
        self._members = members
        self._limits = limits

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        try:
            return 200, await self._issue(request)
        except SynapseError as error:
            TOKENS_REFUSED.labels(reason=_refusal_reason(error)).inc()
            raise
        except Exception:
            # Fail closed: no token when something unexpected happens.
            logger.exception("GCMeet token request failed")
            TOKENS_REFUSED.labels(reason="error").inc()
            raise SynapseError(500, INTERNAL_ERROR, Codes.UNKNOWN) from None

    async def _issue(self, request: SynapseRequest) -> dict[str, Any]:
        body = _json_body(request)
        room_id = body.get("room_id")
        if not is_valid_room_id(room_id):
            raise SynapseError(400, BAD_ROOM_ID, Codes.INVALID_PARAM)
        assert isinstance(room_id, str)
        user_id = await self._requesting_user(request, body)
        await _check_rate(self._limits, user_id)
        member, _levels = await self._members.joined_member(room_id, user_id)
        if member is None:
            # The same answer for "no such room": room existence does not leak.
            raise SynapseError(403, NOT_A_MEMBER, Codes.FORBIDDEN)
        issued = issue_token(self._config, member, room_id, int(time.time()))
        TOKENS_ISSUED.inc()
        logger.info("GCMeet token issued to %s for %s (moderator=%s)", user_id, room_id, member.power_level >= self._config.moderator_power_level)
        return issued.as_dict()

    async def _requesting_user(self, request: SynapseRequest, body: dict[str, Any]) -> str:
        if "openid_token" not in body:
            try:
                requester = await self._api.get_user_by_req(request)
            except AuthError as error:
                raise SynapseError(401, UNKNOWN_TOKEN, error.errcode) from None
            return requester.user.to_string()
        openid = body["openid_token"]
        if not isinstance(openid, dict) or not isinstance(openid.get("access_token"), str) or not openid["access_token"]:
            raise SynapseError(400, BAD_OPENID_TOKEN, Codes.BAD_JSON)
        server_name = openid.get("matrix_server_name", self._api.server_name)
        if not isinstance(server_name, str):
            raise SynapseError(400, BAD_OPENID_TOKEN, Codes.BAD_JSON)
        user_id = await self._members.openid_token_owner(openid["access_token"]) if server_name == self._api.server_name else None
        if user_id is None:
            raise SynapseError(401, UNKNOWN_TOKEN, Codes.UNKNOWN_TOKEN)
        return user_id


class VerifyUserInRoomResource(DirectServeJsonResource):
    """matrix-user-verification-service's POST /verify/user_in_room: {token, room_id[, matrix_server_name]}."""

    def __init__(self, api: ModuleApi, members: MemberLookup, limits: SharedTokenBucket) -> None:
        super().__init__()
        self._api = api
        self._members = members
        self._limits = limits

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        body = _json_body(request)
        token = body.get("token")
        room_id = body.get("room_id")
        if not isinstance(token, str) or not token:
            raise SynapseError(400, BAD_JSON, Codes.MISSING_PARAM)
        if not is_valid_room_id(room_id):
            raise SynapseError(400, BAD_ROOM_ID, Codes.INVALID_PARAM)
        assert isinstance(room_id, str)
        user_id = await _verified_openid_owner(self._api, self._members, token, body.get("matrix_server_name"))
        if user_id is None:
            VERIFICATIONS.labels(verdict="invalid_token").inc()
            return 200, {"results": {"user": False, "room_membership": False}, "user_id": None, "power_levels": None}
        await _check_rate(self._limits, user_id)
        try:
            member, levels = await self._members.joined_member(room_id, user_id)
        except SynapseError:
            member, levels = None, None  # refused by a rule (a channel member who is not an owner)
        except Exception:
            logger.exception("GCMeet verification failed")
            member, levels = None, None  # fail closed
        if member is None:
            VERIFICATIONS.labels(verdict="not_in_room").inc()
            return 200, {"results": {"user": True, "room_membership": False}, "user_id": user_id, "power_levels": None}
        VERIFICATIONS.labels(verdict="in_room").inc()
        return 200, {
            "results": {"user": True, "room_membership": True},
            "user_id": user_id,
            "power_levels": {"room": room_power_defaults(levels), "user": member.power_level},
        }


class VerifyUserResource(DirectServeJsonResource):
    """matrix-user-verification-service's POST /verify/user: {token[, matrix_server_name]}."""

    def __init__(self, api: ModuleApi, members: MemberLookup) -> None:
        super().__init__()
        self._api = api
        self._members = members

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        body = _json_body(request)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise SynapseError(400, BAD_JSON, Codes.MISSING_PARAM)
        user_id = await _verified_openid_owner(self._api, self._members, token, body.get("matrix_server_name"))
        return 200, {"results": {"user": user_id is not None}, "user_id": user_id}


class AsapPublicKeyResource(Resource):
    """GET asap/<sha256 hex of kid>.pem: the RS256 public key, as Prosody's asap_key_server expects."""

    isLeaf = True

    def __init__(self, file_name: str, public_pem: str) -> None:
        super().__init__()
        self._file_name = file_name
        self._public_pem = public_pem.encode("ascii")

    def render_GET(self, request: Request) -> bytes:
        requested = (request.path or b"").rsplit(b"/", 1)[-1].decode("ascii", errors="replace")
        if requested != self._file_name:
            request.setResponseCode(404)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return b"No such key\n"
        request.setHeader(b"Content-Type", b"application/x-pem-file")
        request.setHeader(b"Cache-Control", b"public, max-age=3600")
        return self._public_pem


async def _verified_openid_owner(api: ModuleApi, members: MemberLookup, token: str, server_name: object) -> str | None:
    if server_name is not None and server_name != api.server_name:
        return None  # a foreign homeserver's token: this server cannot vouch for it
    return await members.openid_token_owner(token)


def _json_body(request: SynapseRequest) -> dict[str, Any]:
    try:
        return parse_json_object_from_request(request)
    except SynapseError as error:
        raise SynapseError(400, BAD_JSON, error.errcode) from None


async def _check_rate(limits: SharedTokenBucket, user_id: str) -> None:
    decision = await limits.allow(user_id)
    if not decision.allowed:
        error = LimitExceededError("gcmeet", retry_after_ms=decision.retry_after_ms)
        error.msg = TOO_MANY_REQUESTS
        raise error


def _refusal_reason(error: SynapseError) -> str:
    if error.code == 400:
        return "bad_request"
    if error.code == 401:
        return "unknown_token"
    if error.code == 403:
        return "not_member"
    if error.code == 429:
        return "rate_limited"
    return "error"
