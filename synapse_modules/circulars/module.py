"""Synapse adapter for the circulars library: its HTTP API (see servlets.py).

No configuration and no callbacks: the library lives in the database, so the
module is the same on every process.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.circulars.service import LibraryService
from synapse_modules.circulars.servlets import CircularsResource
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.schema_check import require_schema


class CircularLibrary:
    def __init__(self, config: dict[str, Any], api: ModuleApi) -> None:
        require_schema(api, 6)
        self.service = LibraryService(api)
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/circulars", CircularsResource(api, self.service))

    @staticmethod
    def parse_config(config: dict[str, Any]) -> dict[str, Any]:
        return dict(config or {})
