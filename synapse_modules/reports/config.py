"""The reports module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govchat.agencies import Agency


class ReportsConfigProblem(ValueError):
    """A reports setting is wrong; the message names the key."""


@dataclass(frozen=True)
class ReportsConfig:
    count_archived_channels: bool
    # The configured agencies, so that an agency with no users yet still has its row.
    agencies: tuple[Agency, ...]


def parse_reports_config(config: dict[str, Any]) -> ReportsConfig:
    archived = config.get("count_archived_channels", False)
    if not isinstance(archived, bool):
        raise ReportsConfigProblem("count_archived_channels must be true or false")
    entries = config.get("agencies", [])
    if not isinstance(entries, list):
        raise ReportsConfigProblem("agencies must be a list")
    agencies = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) and entry[key] for key in ("domain", "name", "ministry")):
            raise ReportsConfigProblem(f"agencies entry {index + 1} needs domain, name and ministry")
        agencies.append(Agency(domain=entry["domain"], name=entry["name"], ministry=entry["ministry"]))
    return ReportsConfig(count_archived_channels=archived, agencies=tuple(agencies))
