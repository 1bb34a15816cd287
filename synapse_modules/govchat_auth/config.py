"""The govchat_auth module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError

from govchat.agencies import Agency


@dataclass(frozen=True)
class GovChatAuthConfig:
    agencies: tuple[Agency, ...]


def parse_govchat_auth_config(config: dict[str, Any]) -> GovChatAuthConfig:
    entries = config.get("agencies")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("govchat_auth: 'agencies' must be a non-empty list")
    agencies = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) and entry[key] for key in ("domain", "name", "ministry")):
            raise ConfigError(f"govchat_auth: agencies entry {index + 1} needs domain, name and ministry")
        agencies.append(Agency(domain=entry["domain"], name=entry["name"], ministry=entry["ministry"]))
    return GovChatAuthConfig(agencies=tuple(agencies))
