"""Registration and accounts follow each agency's staff directory (LDAP), where one is configured (R1.5, R2.2)."""

from __future__ import annotations

from typing import Any

__all__ = ["GovChatDirectory"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `govchat` (settings checks) can use `config` without loading Synapse.
    if name == "GovChatDirectory":
        from synapse_modules.directory.module import GovChatDirectory

        return GovChatDirectory
    raise AttributeError(name)
