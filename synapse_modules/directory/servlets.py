"""Admin HTTP API: POST /_synapse/client/govchat/v1/directory/sync {"dry_run": true|false}.

Answers the sync report: `deactivated` (or `would_deactivate` on a dry run) lists
`{user_id, email, reason}` with reason `no_entry` or `disabled`; `queued` those handed to
the outbox but not yet carried out; `skipped` and `errors` say what was not done and why.
"""

from __future__ import annotations

import json
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.common.http import require_server_admin
from synapse_modules.directory.sync import DirectorySync, SyncAlreadyRunning

NOT_JSON = "Kandungan permintaan mesti objek JSON. / The request body must be a JSON object."
BAD_DRY_RUN = "Medan dry_run mesti true atau false. / The dry_run field must be true or false."
ALREADY_RUNNING = (
    "Penyegerakan direktori sedang berjalan; cuba lagi sebentar lagi. / "
    "A directory sync is already running; try again shortly."
)


class DirectorySyncResource(DirectServeJsonResource):
    def __init__(self, api: ModuleApi, sync: DirectorySync) -> None:
        super().__init__()
        self._api = api
        self._sync = sync

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        admin = await require_server_admin(self._api, request)
        dry_run = parse_sync_request(request.content.read() if request.content is not None else b"")
        try:
            return 200, await self._sync.run(dry_run=dry_run, by_admin=admin)
        except SyncAlreadyRunning:
            raise SynapseError(409, ALREADY_RUNNING, Codes.UNKNOWN) from None


def parse_sync_request(raw: bytes) -> bool:
    """The dry_run flag from the body; an empty body means a real run."""
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        raise SynapseError(400, NOT_JSON, Codes.NOT_JSON, additional_fields={"field": "body"})
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise SynapseError(400, BAD_DRY_RUN, Codes.INVALID_PARAM, additional_fields={"field": "dry_run"})
    return dry_run
