"""The edit_window module's config, checked when Synapse starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api.errors import ConfigError

MAX_EDIT_WINDOW_SECONDS = 86400


@dataclass(frozen=True)
class EditWindowConfig:
    window_seconds: int

    @property
    def window_ms(self) -> int:
        return self.window_seconds * 1000


def parse_edit_window_config(config: dict[str, Any]) -> EditWindowConfig:
    seconds = config.get("edit_window_seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_EDIT_WINDOW_SECONDS:
        raise ConfigError(
            f"edit_window: 'edit_window_seconds' must be a whole number from 1 to {MAX_EDIT_WINDOW_SECONDS}, got {seconds!r}"
        )
    return EditWindowConfig(window_seconds=seconds)
