"""Shared vocabulary of GovChat's public channels: the marker state event and INFO.

Other modules (edit window, reports, administration workflows) import these
names rather than copying them, so that "is this room a channel, who owns it"
means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A room is a GovChat public channel when its state holds this event (state key "").
# Its content is the authority on who owns the channel; power levels only mirror it.
CHANNEL_MARKER_EVENT_TYPE = "my.gov.govchat.channel"
CHANNEL_MARKER_STATE_KEY = ""

# The official channel every user is in: #info:<server_name>.
INFO_ALIAS_LOCALPART = "info"

# The GovChat system account that creates channels and acts on administrators' requests.
SYSTEM_USER_LOCALPART = "govchat"


def info_alias(server_name: str) -> str:
    return f"#{INFO_ALIAS_LOCALPART}:{server_name}"


def system_user_id(server_name: str) -> str:
    return f"@{SYSTEM_USER_LOCALPART}:{server_name}"


@dataclass(frozen=True)
class ChannelMarker:
    """The marker's content, read defensively: whatever is malformed counts as absent."""

    owners: frozenset[str] = frozenset()
    is_info: bool = False
    archived: bool = False

    def as_content(self) -> dict[str, Any]:
        return {"owners": sorted(self.owners), "info": self.is_info, "archived": self.archived}


def marker_from_content(content: Mapping[str, Any]) -> ChannelMarker:
    owners = content.get("owners")
    return ChannelMarker(
        owners=frozenset(owner for owner in owners if isinstance(owner, str)) if isinstance(owners, list) else frozenset(),
        is_info=content.get("info") is True,
        archived=content.get("archived") is True,
    )
