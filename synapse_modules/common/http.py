"""Helpers for GovChat's HTTP resources under /_synapse/client/govchat/."""

from __future__ import annotations

from synapse.api.errors import Codes, SynapseError
from synapse.module_api import ModuleApi
from synapse.http.site import SynapseRequest

GOVCHAT_API_PREFIX = "/_synapse/client/govchat/v1"

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
