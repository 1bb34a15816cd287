"""The monthly report as plain values: which month, what counts, and its three renderings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from govchat.agencies import Agency
from synapse_modules.reports.report import (
    ChannelFacts,
    InvalidRequest,
    Month,
    build_report,
    parse_format,
    parse_month,
    to_csv,
    to_html,
)

NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
MAMPU = Agency("mampu.gov.my", "MAMPU", "Jabatan Perdana Menteri")
JPA = Agency("jpa.gov.my", "JPA", "Jabatan Perdana Menteri")
MOE = Agency("moe.gov.my", "KPM", "Kementerian Pendidikan")


def test_a_past_or_current_month_is_accepted() -> None:
    assert parse_month("2026-03", NOW) == Month(2026, 3)
    assert parse_month("2025-12", NOW) == Month(2025, 12)


@pytest.mark.parametrize("raw", [None, "", "2026-3", "2026-00", "2026-13", "Mac 2026", "2026-03-01", "1999-12"])
def test_a_malformed_month_names_the_field(raw: str | None) -> None:
    with pytest.raises(InvalidRequest) as problem:
        parse_month(raw, NOW)
    assert problem.value.field == "month" and " / " in problem.value.message


def test_a_future_month_is_refused_in_malaysia_time() -> None:
    with pytest.raises(InvalidRequest, match="future"):
        parse_month("2026-04", NOW)
    # 31 March 17:00 UTC is already 1 April in Malaysia.
    assert parse_month("2026-04", datetime(2026, 3, 31, 17, 0, tzinfo=UTC)) == Month(2026, 4)


def test_month_end_is_midnight_malaysia_time() -> None:
    assert Month(2026, 12).end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_format_defaults_to_json_and_unknown_is_named() -> None:
    assert parse_format(None) == "json"
    with pytest.raises(InvalidRequest) as problem:
        parse_format("pdf")
    assert problem.value.field == "format"


def sample():  # type: ignore[no-untyped-def]
    channels = [
        ChannelFacts("!1", frozenset({"@b:x", "@a:x"}), archived=False),  # @a is first: MAMPU
        ChannelFacts("!2", frozenset({"@c:x"}), archived=False),  # JPA
        ChannelFacts("!3", frozenset(), archived=False),  # no owner
        ChannelFacts("!4", frozenset({"@a:x"}), archived=True),  # archived: left out
    ]
    owners = {"@a:x": MAMPU, "@b:x": JPA, "@c:x": JPA}
    return build_report(Month(2026, 3), [MAMPU, JPA, MOE], {MAMPU: 5, JPA: 2}, channels, owners, count_archived=False)


def test_rows_per_ministry_and_agency_with_totals() -> None:
    report = sample()
    data = report.as_dict()
    assert [m["ministry"] for m in data["ministries"]] == ["Jabatan Perdana Menteri", "Kementerian Pendidikan"]
    jpm = data["ministries"][0]
    assert (jpm["users"], jpm["public_channels"]) == (7, 2)
    assert {a["domain"]: (a["users"], a["public_channels"]) for a in jpm["agencies"]} == {"mampu.gov.my": (5, 1), "jpa.gov.my": (2, 1)}
    assert data["ministries"][1]["agencies"] == [{**MOE.as_dict(), "users": 0, "public_channels": 0}]
    assert data["unattributed_public_channels"] == 1
    assert data["totals"] == {"users": 7, "public_channels": 3}


def test_csv_and_html_carry_the_same_figures() -> None:
    report = sample()
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [(r["row"], r["agency_domain"], r["users"], r["public_channels"]) for r in rows if r["row"] == "agency"] == [
        ("agency", "jpa.gov.my", "2", "1"),
        ("agency", "mampu.gov.my", "5", "1"),
        ("agency", "moe.gov.my", "0", "0"),
    ]
    assert [(r["users"], r["public_channels"]) for r in rows if r["row"] == "total"] == [("7", "3")]
    page = to_html(report)
    assert 'id="total-users">7<' in page and 'id="total-channels">3<' in page
    assert "<svg" in page and "<script" not in page


def test_csv_cells_cannot_start_a_spreadsheet_formula() -> None:
    evil = Agency("evil.gov.my", "=HYPERLINK(1)", "+Kementerian")
    text = to_csv(build_report(Month(2026, 3), [evil], {}, [], {}, count_archived=False))
    assert ",'=HYPERLINK(1)," in text and ",'+Kementerian," in text


def test_html_escapes_names() -> None:
    odd = Agency("odd.gov.my", "<b>Agensi</b>", "K")
    page = to_html(build_report(Month(2026, 3), [odd], {odd: 1}, [], {}, count_archived=False))
    assert "<b>Agensi</b>" not in page and "&lt;b&gt;Agensi&lt;/b&gt;" in page
