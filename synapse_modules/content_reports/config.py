"""The content-reports module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError


@dataclass(frozen=True)
class ContentReportsConfig:
    # How often the background-tasks process looks for new reports.
    poll_interval_seconds: int
    # A reporter's reports beyond this many in `rate_window_seconds` are held, not queued or announced.
    max_reports_per_window: int
    rate_window_seconds: int
    # Tell a group's moderators and a channel's owners too, not only the administrators.
    notify_room_moderators: bool


def parse_content_reports_config(config: dict[str, Any]) -> ContentReportsConfig:
    notify = config.get("notify_room_moderators", True)
    if not isinstance(notify, bool):
        raise ConfigError("content_reports: 'notify_room_moderators' must be true or false")
    return ContentReportsConfig(
        poll_interval_seconds=_whole_number(config, "poll_interval_seconds", 10, 1, 3600),
        max_reports_per_window=_whole_number(config, "max_reports_per_window", 10, 1, 10_000),
        rate_window_seconds=_whole_number(config, "rate_window_seconds", 3600, 1, 7 * 86400),
        notify_room_moderators=notify,
    )


def content_reports_problem(key: str, value: int) -> str | None:
    """The same bounds for govchat.yaml's check at `govchat run`."""
    lowest, highest = _BOUNDS[key]
    return None if lowest <= value <= highest else f"must be from {lowest} to {highest}, got {value}"


_BOUNDS = {"poll_interval_seconds": (1, 3600), "max_reports_per_window": (1, 10_000), "rate_window_seconds": (1, 7 * 86400)}


def _whole_number(config: dict[str, Any], key: str, default: int, lowest: int, highest: int) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= highest:
        raise ConfigError(f"content_reports: '{key}' must be a whole number from {lowest} to {highest}")
    return value
