"""The public_channels module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError


@dataclass(frozen=True)
class PublicChannelsConfig:
    info_mandatory: bool
    info_name: str
    info_topic: str
    deliver_typing: bool = False
    share_presence: bool = False


def parse_public_channels_config(config: dict[str, Any]) -> PublicChannelsConfig:
    mandatory = config.get("info_mandatory", True)
    if not isinstance(mandatory, bool):
        raise ConfigError("public_channels: 'info_mandatory' must be true or false")
    name = config.get("info_name", "INFO")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("public_channels: 'info_name' must be non-empty text")
    topic = config.get("info_topic", "")
    if not isinstance(topic, str):
        raise ConfigError("public_channels: 'info_topic' must be text")
    deliver_typing = config.get("deliver_typing", False)
    if not isinstance(deliver_typing, bool):
        raise ConfigError("public_channels: 'deliver_typing' must be true or false")
    share_presence = config.get("share_presence", False)
    if not isinstance(share_presence, bool):
        raise ConfigError("public_channels: 'share_presence' must be true or false")
    return PublicChannelsConfig(
        info_mandatory=mandatory, info_name=name.strip(), info_topic=topic, deliver_typing=deliver_typing, share_presence=share_presence
    )
