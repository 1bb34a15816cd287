"""The monthly report as plain values: which month, what counts, and its JSON, CSV and HTML forms.

Nothing here knows Synapse. A month is a calendar month in Malaysia time (UTC+8);
figures are as at the month's end, or now for the current month.

- Users: accounts with a recorded agency, created before the month's end and not
  deactivated at its end.
- Public channels: rooms carrying the GovChat channel marker, created before the
  month's end, attributed to the agency of their first owner (owners in user ID
  order) who has a recorded agency; channels with no such owner (INFO, channels
  without owners) are counted as "no agency".
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from govchat.agencies import Agency
from govchat.malaysia_time import MALAYSIA_TIME
from synapse_modules.common.refusals import InvalidRequest

FORMATS = ("json", "csv", "html")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")

NO_AGENCY = Agency(domain="", name="Tanpa agensi / No agency", ministry="")
CSV_COLUMNS = ("month", "row", "ministry", "agency_domain", "agency_name", "users", "public_channels")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=MALAYSIA_TIME)

    @property
    def end(self) -> datetime:
        """The first instant after the month."""
        return datetime(self.year + self.month // 12, self.month % 12 + 1, 1, tzinfo=MALAYSIA_TIME)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


def month_of(moment: datetime) -> Month:
    local = moment.astimezone(MALAYSIA_TIME)
    return Month(local.year, local.month)


def parse_month(raw: str | None, now: datetime) -> Month:
    if raw is None or not raw.strip():
        raise InvalidRequest("month", "Medan month (YYYY-MM) wajib diisi. / The month field (YYYY-MM) is required.")
    match = _MONTH.fullmatch(raw.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidRequest(
            "month",
            f"Medan month mesti bulan seperti 2026-03, bukan {raw!r}. / The month field must be a month such as 2026-03, not {raw!r}.",
        )
    month = Month(int(match.group(1)), int(match.group(2)))
    if month > month_of(now):
        raise InvalidRequest(
            "month",
            f"Medan month: {month} belum tiba. / The month field: {month} is in the future.",
        )
    return month


def parse_format(raw: str | None) -> str:
    if raw is None or raw == "":
        return "json"
    if raw not in FORMATS:
        raise InvalidRequest(
            "format",
            f"Medan format mesti json, csv atau html, bukan {raw!r}. / The format field must be json, csv or html, not {raw!r}.",
        )
    return raw


@dataclass(frozen=True)
class ChannelFacts:
    room_id: str
    owners: frozenset[str]
    archived: bool


def channel_agency(channel: ChannelFacts, owner_agencies: Mapping[str, Agency]) -> Agency | None:
    """The agency of the channel's first owner (by user ID) who has one recorded."""
    for owner in sorted(channel.owners):
        if owner in owner_agencies:
            return owner_agencies[owner]
    return None


@dataclass(frozen=True)
class ReportRow:
    agency: Agency
    users: int
    channels: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.agency.as_dict(), "users": self.users, "public_channels": self.channels}


@dataclass(frozen=True)
class MinistryTotal:
    ministry: str
    users: int
    channels: int
    agencies: tuple[ReportRow, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ministry": self.ministry,
            "users": self.users,
            "public_channels": self.channels,
            "agencies": [row.as_dict() for row in self.agencies],
        }


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    ministries: tuple[MinistryTotal, ...]
    unattributed_channels: int

    @property
    def rows(self) -> list[ReportRow]:
        return [row for ministry in self.ministries for row in ministry.agencies]

    @property
    def total_users(self) -> int:
        return sum(ministry.users for ministry in self.ministries)

    @property
    def total_channels(self) -> int:
        return sum(ministry.channels for ministry in self.ministries) + self.unattributed_channels

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": str(self.month),
            "ministries": [ministry.as_dict() for ministry in self.ministries],
            "unattributed_public_channels": self.unattributed_channels,
            "totals": {"users": self.total_users, "public_channels": self.total_channels},
        }


def build_report(
    month: Month,
    configured: Iterable[Agency],
    users_by_agency: Mapping[Agency, int],
    channels: Iterable[ChannelFacts],
    owner_agencies: Mapping[str, Agency],
    count_archived: bool,
) -> MonthlyReport:
    """Rows for every configured agency and every agency someone registered under, by domain."""
    agencies: dict[str, Agency] = {}
    for agency in users_by_agency:
        agencies.setdefault(agency.domain, agency)
    for agency in configured:
        agencies[agency.domain] = agency  # the current name wins over the one recorded
    users: dict[str, int] = {}
    for agency, count in users_by_agency.items():
        users[agency.domain] = users.get(agency.domain, 0) + count
    channel_counts: dict[str, int] = {}
    unattributed = 0
    for channel in channels:
        if channel.archived and not count_archived:
            continue
        owner_agency = channel_agency(channel, owner_agencies)
        if owner_agency is None:
            unattributed += 1
            continue
        agencies.setdefault(owner_agency.domain, owner_agency)
        channel_counts[owner_agency.domain] = channel_counts.get(owner_agency.domain, 0) + 1
    by_ministry: dict[str, list[ReportRow]] = {}
    for domain, agency in agencies.items():
        row = ReportRow(agency, users.get(domain, 0), channel_counts.get(domain, 0))
        by_ministry.setdefault(agency.ministry, []).append(row)
    ministries = tuple(
        MinistryTotal(
            ministry=ministry,
            users=sum(row.users for row in rows),
            channels=sum(row.channels for row in rows),
            agencies=tuple(sorted(rows, key=lambda row: (row.agency.name, row.agency.domain))),
        )
        for ministry, rows in sorted(by_ministry.items())
    )
    return MonthlyReport(month=month, ministries=ministries, unattributed_channels=unattributed)


# --- renderings ------------------------------------------------------------------


def to_csv(report: MonthlyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    month = str(report.month)
    for ministry in report.ministries:
        for row in ministry.agencies:
            writer.writerow((month, "agency", _csv_text(ministry.ministry), row.agency.domain, _csv_text(row.agency.name), row.users, row.channels))
        writer.writerow((month, "ministry", _csv_text(ministry.ministry), "", "", ministry.users, ministry.channels))
    writer.writerow((month, "unattributed", "", "", NO_AGENCY.name, 0, report.unattributed_channels))
    writer.writerow((month, "total", "", "", "", report.total_users, report.total_channels))
    return out.getvalue()


def _csv_text(value: str) -> str:
    # A leading = + - @ makes spreadsheets run the cell as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_html(report: MonthlyReport) -> str:
    month = html.escape(str(report.month))
    body_rows = []
    for ministry in report.ministries:
        for row in ministry.agencies:
            body_rows.append(
                f"<tr><td>{html.escape(ministry.ministry)}</td><td>{html.escape(row.agency.name)}"
                f" <small>({html.escape(row.agency.domain)})</small></td>"
                f"<td class=n>{row.users}</td><td class=n>{row.channels}</td></tr>"
            )
        body_rows.append(
            f"<tr class=sub><th colspan=2>Jumlah {html.escape(ministry.ministry)} / Total</th>"
            f"<td class=n>{ministry.users}</td><td class=n>{ministry.channels}</td></tr>"
        )
    body_rows.append(
        f"<tr><td>-</td><td>{html.escape(NO_AGENCY.name)}</td><td class=n>0</td><td class=n>{report.unattributed_channels}</td></tr>"
    )
    table = "\n".join(body_rows)
    return f"""<!DOCTYPE html>
<html lang="ms">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Laporan Bulanan GovChat {month} / GovChat Monthly Report {month}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1a1a1a; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #bbb; padding: .3rem .6rem; text-align: left; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.sub th, tr.sub td, tfoot th, tfoot td {{ background: #eef2f7; font-weight: bold; }}
.legend span {{ display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 1em; }}
</style>
</head>
<body>
<h1>Laporan Bulanan Pelaksanaan GovChat / GovChat Monthly Implementation Report</h1>
<p>Bulan / Month: <strong id="month">{month}</strong> (Borang A7 / Form A7). Angka pada akhir bulan (waktu Malaysia). /
Figures as at the end of the month (Malaysia time).</p>
<h2>Carta / Chart</h2>
<p class="legend"><span style="background:#2b6cb0"></span>Pengguna / Users<span style="background:#dd6b20"></span>Saluran awam / Public channels</p>
{bar_chart(report)}
<h2>Mengikut kementerian dan agensi / By ministry and agency</h2>
<table id="report">
<thead><tr><th>Kementerian / Ministry</th><th>Agensi / Agency</th><th>Pengguna / Users</th><th>Saluran awam / Public channels</th></tr></thead>
<tbody>
{table}
</tbody>
<tfoot><tr><th colspan=2>JUMLAH / TOTAL</th><td class=n id="total-users">{report.total_users}</td><td class=n id="total-channels">{report.total_channels}</td></tr></tfoot>
</table>
</body>
</html>
"""


def bar_chart(report: MonthlyReport) -> str:
    """An inline SVG: per agency, a bar of users and a bar of public channels, on one scale."""
    rows = [(row.agency.name, row.users, row.channels) for row in report.rows]
    if report.unattributed_channels:
        rows.append((NO_AGENCY.name, 0, report.unattributed_channels))
    label_width, bar_width, line = 320, 360, 34
    largest = max([1] + [max(users, channels) for _, users, channels in rows])
    parts = []
    for index, (name, users, channels) in enumerate(rows):
        top = index * line + 4
        label = html.escape(name if len(name) <= 45 else name[:44] + "…")
        parts.append(f'<text x="0" y="{top + 17}" font-size="12">{label}</text>')
        for offset, value, colour, what in ((0, users, "#2b6cb0", "users"), (14, channels, "#dd6b20", "channels")):
            width = round(bar_width * value / largest, 1)
            parts.append(
                f'<rect x="{label_width}" y="{top + offset}" width="{width}" height="12" fill="{colour}">'
                f"<title>{html.escape(name)}: {value} {what}</title></rect>"
                f'<text x="{label_width + width + 4}" y="{top + offset + 10}" font-size="10">{value}</text>'
            )
    height = max(line * len(rows) + 8, 20)
    width = label_width + bar_width + 40
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="Pengguna dan saluran mengikut agensi / Users and channels by agency">'
        + "".join(parts)
        + "</svg>"
    )
