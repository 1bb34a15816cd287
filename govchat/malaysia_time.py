"""Malaysia's time zone, the one GovChat's dates and months are read in (forms' end dates, monthly reports).

Kuala Lumpur is UTC+8 all year (no daylight saving time), so a fixed offset is exact and needs no tz database.
"""

from __future__ import annotations

from datetime import timedelta, timezone

MALAYSIA_TIME = timezone(timedelta(hours=8), "MYT")
