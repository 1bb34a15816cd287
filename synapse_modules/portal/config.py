"""The portal module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError


@dataclass(frozen=True)
class PortalConfig:
    helpdesk_email: str
    helpdesk_phone: str
    helpdesk_hours: str
    web_client_url: str


def parse_portal_config(config: dict[str, Any]) -> PortalConfig:
    values = {}
    for key, default in (("helpdesk_email", ""), ("helpdesk_phone", ""), ("helpdesk_hours", ""), ("web_client_url", "")):
        value = config.get(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"portal: '{key}' must be text")
        values[key] = value.strip()
    if "@" not in values["helpdesk_email"]:
        raise ConfigError("portal: 'helpdesk_email' must be an e-mail address")
    return PortalConfig(**values)
