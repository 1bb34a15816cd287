"""The applications module's config, checked when Synapse starts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError

from govchat.agencies import Agency
from synapse_modules.public_channels.config import PublicChannelsConfig, parse_public_channels_config

_USER_ID = re.compile(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.:-]+")


@dataclass(frozen=True)
class ApplicationsConfig:
    agencies: tuple[Agency, ...]
    # (agency domain, head's user ID) pairs designated in govchat.yaml.
    heads: tuple[tuple[str, str], ...]
    review_period_days: int
    reminder_days: int
    check_interval_seconds: int
    channels_enabled: bool
    # The public_channels module's own config, for the channels an A6 creates through its service.
    channels: PublicChannelsConfig
    max_submissions_per_day: int = 20


def parse_applications_config(config: dict[str, Any]) -> ApplicationsConfig:
    agencies = []
    for index, entry in enumerate(config.get("agencies") or []):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) and entry[key] for key in ("domain", "name", "ministry")):
            raise ConfigError(f"applications: agencies entry {index + 1} needs domain, name and ministry")
        agencies.append(Agency(domain=entry["domain"], name=entry["name"], ministry=entry["ministry"]))
    if not agencies:
        raise ConfigError("applications: 'agencies' must be a non-empty list")
    heads = []
    for index, entry in enumerate(config.get("heads") or []):
        domain = entry.get("domain") if isinstance(entry, dict) else None
        user_id = entry.get("user_id") if isinstance(entry, dict) else None
        if not isinstance(domain, str) or not domain or not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            raise ConfigError(f"applications: heads entry {index + 1} needs a domain and a user_id such as @ketua:example.gov.my")
        heads.append((domain.lower(), user_id))
    return ApplicationsConfig(
        agencies=tuple(agencies),
        heads=tuple(heads),
        review_period_days=_whole_number(config, "review_period_days", 3, 0, 60),
        reminder_days=_whole_number(config, "reminder_days", 7, 0, 365),
        check_interval_seconds=_whole_number(config, "check_interval_seconds", 3600, 1, 86400),
        channels_enabled=config.get("channels_enabled", True) is True,
        channels=parse_public_channels_config(config.get("channels") or {}),
        max_submissions_per_day=_whole_number(config, "max_submissions_per_day", 20, 1, 1000),
    )


def _whole_number(config: dict[str, Any], key: str, default: int, lowest: int, highest: int) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= highest:
        raise ConfigError(f"applications: '{key}' must be a whole number from {lowest} to {highest}")
    return value
