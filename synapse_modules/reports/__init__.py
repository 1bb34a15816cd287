"""The monthly implementation report: users and public channels per ministry and agency (R8.4, form A7)."""

from __future__ import annotations

from typing import Any

__all__ = ["MonthlyReports"]


def __getattr__(name: str) -> Any:
    # Imported lazily so the plain report functions can be used without loading Synapse.
    if name == "MonthlyReports":
        from synapse_modules.reports.module import MonthlyReports

        return MonthlyReports
    raise AttributeError(name)
