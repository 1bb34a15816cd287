"""The govchat_auth module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError

from govchat.agencies import Agency


@dataclass(frozen=True)
class GovChatAuthConfig:
    agencies: tuple[Agency, ...]
    # Verification and password-reset mails one mailbox may be sent: a burst, then so many an hour.
    mails_per_address_burst: int = 3
    mails_per_address_per_hour: int = 6


def parse_govchat_auth_config(config: dict[str, Any]) -> GovChatAuthConfig:
    entries = config.get("agencies")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("govchat_auth: 'agencies' must be a non-empty list")
    agencies = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) and entry[key] for key in ("domain", "name", "ministry")):
            raise ConfigError(f"govchat_auth: agencies entry {index + 1} needs domain, name and ministry")
        agencies.append(Agency(domain=entry["domain"], name=entry["name"], ministry=entry["ministry"]))
    limits = config.get("mails_per_address", {})
    if not isinstance(limits, dict):
        raise ConfigError("govchat_auth: 'mails_per_address' must be a mapping")
    burst = limits.get("per_address_burst", 3)
    per_hour = limits.get("per_address_per_hour", 6)
    for name, value in (("per_address_burst", burst), ("per_address_per_hour", per_hour)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"govchat_auth: mails_per_address.{name} must be a whole number of at least 1")
    return GovChatAuthConfig(agencies=tuple(agencies), mails_per_address_burst=burst, mails_per_address_per_hour=per_hour)
