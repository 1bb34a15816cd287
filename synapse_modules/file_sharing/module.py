"""Synapse adapter for the file size limit.

Synapse's own `max_upload_size` is also the HTTP body limit, and a body over it
is cut off mid-upload: the client sees a reset connection, not an error. So
GovChat renders a larger transport cap (see config/homeserver.yaml.j2) and
enforces the real limit here, after the body has arrived, where Synapse answers
413 M_TOO_LARGE. Clients read the real limit from /media/config.
"""

from __future__ import annotations

from typing import Any

from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError


def upload_allowed(size_bytes: int, limit_bytes: int) -> bool:
    return 0 <= size_bytes <= limit_bytes


class FileSharingLimits:
    def __init__(self, config: int, api: ModuleApi) -> None:
        self._limit_bytes = config
        api.register_media_repository_callbacks(
            get_media_config_for_user=self.get_media_config_for_user,
            is_user_allowed_to_upload_media_of_size=self.is_user_allowed_to_upload_media_of_size,
        )

    @staticmethod
    def parse_config(config: dict[str, Any]) -> int:
        megabytes = config.get("max_upload_size_mb")
        if not isinstance(megabytes, int) or isinstance(megabytes, bool) or megabytes < 1:
            raise ConfigError("file_sharing: 'max_upload_size_mb' must be a positive whole number")
        return megabytes * 1024 * 1024

    async def get_media_config_for_user(self, user_id: str) -> dict[str, Any]:
        return {"m.upload.size": self._limit_bytes}

    async def is_user_allowed_to_upload_media_of_size(self, user_id: str, size: int) -> bool:
        return upload_allowed(size, self._limit_bytes)
