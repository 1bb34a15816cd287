"""Keeps the operator's console to what means something to them; Synapse's log files keep everything.

Loaded by Synapse itself, through the `log.yaml` GovChat renders (config/log.yaml.j2).
"""

from __future__ import annotations

import logging


class HideStartUpBanner(logging.Filter):
    """Synapse logs its version and licence banner at WARNING so that it reaches every log file; on the
    console it reads as four warnings before GovChat's own banner, so the console handler leaves it out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "synapse.config.logger" and record.funcName == "setup_logging" and record.levelno == logging.WARNING)
