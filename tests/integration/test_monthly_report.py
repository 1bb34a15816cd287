"""The monthly implementation report on a real homeserver (R8.4, form A7): users and public
channels per ministry and agency, with totals, identical in JSON, CSV and HTML."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from govchat.malaysia_time import MALAYSIA_TIME
from tests.harness import REPO_ROOT, GovChatServer, User

REPORT_API = "/_synapse/client/govchat/v1/reports/monthly"
CHANNELS_API = "/_synapse/client/govchat/v1/channels"
MINISTRY = "Kementerian Ujian Laporan"
AGENCY_A = {"domain": "laporan-a.gov.my", "name": "Agensi Laporan A", "ministry": MINISTRY}
AGENCY_B = {"domain": "laporan-b.gov.my", "name": "Agensi Laporan B", "ministry": MINISTRY}
AGENCY_C = {"domain": "laporan-c.gov.my", "name": "Agensi Laporan C", "ministry": "Kementerian Ujian Lain"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    settings = {
        "registration": {
            "agencies": [
                {"domain": "gov.my", "name": "Kerajaan Malaysia (agensi lain)", "ministry": "Kerajaan Malaysia"},
                AGENCY_A,
                AGENCY_B,
                AGENCY_C,
            ]
        },
        "bot": {"enabled": False},
    }
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-report"), settings=settings).running() as govchat:
        yield govchat


@pytest.fixture(scope="module")
def admin(server: GovChatServer) -> User:
    return server.register_admin()


def this_month() -> str:
    return datetime.now(MALAYSIA_TIME).strftime("%Y-%m")


def register(server: GovChatServer, agency: dict[str, str]) -> User:
    return server.register_with_email(f"p{uuid.uuid4().hex[:8]}@{agency['domain']}")


def create_channel(server: GovChatServer, admin: User, owners: list[str]) -> None:
    body = {"name": "Saluran Laporan", "alias": f"laporan-{uuid.uuid4().hex[:8]}", "topic": "", "owners": owners}
    answer = server.request("POST", CHANNELS_API, admin.access_token, json=body)
    assert answer.status_code == 200, answer.text


def report(server: GovChatServer, admin: User, output: str, month: str | None = None) -> Any:
    answer = server.request("GET", REPORT_API, admin.access_token, params={"month": month or this_month(), "format": output})
    assert answer.status_code == 200, answer.text
    return answer


@pytest.fixture(scope="module")
def populated(server: GovChatServer, admin: User) -> dict[str, int]:
    """Registers users and creates channels; answers the expected channel count per agency domain."""
    a_users = [register(server, AGENCY_A) for _ in range(3)]
    b_users = [register(server, AGENCY_B) for _ in range(2)]
    # A deactivated account is not counted.
    gone = server.request("POST", f"/_synapse/admin/v1/deactivate/{b_users[1].user_id}", admin.access_token, json={})
    assert gone.status_code == 200, gone.text
    create_channel(server, admin, [a_users[0].user_id])
    create_channel(server, admin, [a_users[1].user_id, b_users[0].user_id])  # first owner by user ID decides
    create_channel(server, admin, [b_users[0].user_id])
    create_channel(server, admin, [])  # no owner: no agency
    shared = AGENCY_A if a_users[1].user_id < b_users[0].user_id else AGENCY_B
    expected = {AGENCY_A["domain"]: 1, AGENCY_B["domain"]: 1}
    expected[shared["domain"]] += 1
    return expected


def test_json_report_counts_users_and_channels_per_agency_with_totals(server: GovChatServer, admin: User, populated: dict[str, int]) -> None:
    data = report(server, admin, "json").json()
    assert data["month"] == this_month()
    ministries = {ministry["ministry"]: ministry for ministry in data["ministries"]}
    agencies = {agency["domain"]: agency for agency in ministries[MINISTRY]["agencies"]}
    users = {domain: agencies[domain]["users"] for domain in agencies}
    assert users == {"laporan-a.gov.my": 3, "laporan-b.gov.my": 1}
    assert {domain: agencies[domain]["public_channels"] for domain in agencies} == populated
    assert ministries[MINISTRY]["users"] == 4 and ministries[MINISTRY]["public_channels"] == 3
    # An agency nobody registered under yet still has its row, with zeros.
    other = ministries["Kementerian Ujian Lain"]["agencies"]
    assert other == [{**AGENCY_C, "users": 0, "public_channels": 0}]
    # INFO and the owner-less channel are counted, without an agency.
    assert data["unattributed_public_channels"] == 2
    assert data["totals"]["users"] == sum(ministry["users"] for ministry in data["ministries"])
    assert data["totals"]["public_channels"] == 3 + 2


def test_csv_html_and_command_agree_with_json(server: GovChatServer, admin: User, populated: dict[str, int]) -> None:
    data = report(server, admin, "json").json()
    csv_answer = report(server, admin, "csv")
    assert csv_answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    for ministry in data["ministries"]:
        for agency in ministry["agencies"]:
            [row] = [row for row in rows if row["row"] == "agency" and row["agency_domain"] == agency["domain"]]
            assert (int(row["users"]), int(row["public_channels"])) == (agency["users"], agency["public_channels"])
        [subtotal] = [row for row in rows if row["row"] == "ministry" and row["ministry"] == ministry["ministry"]]
        assert (int(subtotal["users"]), int(subtotal["public_channels"])) == (ministry["users"], ministry["public_channels"])
    [total] = [row for row in rows if row["row"] == "total"]
    assert (int(total["users"]), int(total["public_channels"])) == (data["totals"]["users"], data["totals"]["public_channels"])

    page = report(server, admin, "html")
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "Laporan Bulanan Pelaksanaan GovChat / GovChat Monthly Implementation Report" in html
    assert "<svg" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert re.search(r'id="total-users">(\d+)<', html).group(1) == str(data["totals"]["users"])  # type: ignore[union-attr]
    assert re.search(r'id="total-channels">(\d+)<', html).group(1) == str(data["totals"]["public_channels"])  # type: ignore[union-attr]
    assert "Agensi Laporan A" in html

    env = {**server.environment(), "GOVCHAT_ADMIN_TOKEN": admin.access_token}
    printed = subprocess.run(
        [sys.executable, "-m", "govchat", "report", "monthly", "--month", this_month(), "--format", "csv"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == csv_answer.text.replace("\r\n", "\n")  # text=True reads \r\n as \n


def test_a_month_before_the_accounts_existed_counts_nobody(server: GovChatServer, admin: User, populated: dict[str, int]) -> None:
    data = report(server, admin, "json", month="2020-01").json()
    assert data["totals"] == {"users": 0, "public_channels": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"format": "json"}, "month"),
        ({"month": "2026-13"}, "month"),
        ({"month": "Mac 2026"}, "month"),
        ({"month": "2999-01"}, "month"),
        ({"month": "2020-01", "format": "pdf"}, "format"),
    ],
)
def test_bad_input_gets_400_naming_the_field(server: GovChatServer, admin: User, query: dict[str, str], field: str) -> None:
    answer = server.request("GET", REPORT_API, admin.access_token, params=query)
    assert answer.status_code == 400
    assert answer.json()["field"] == field and answer.json()["errcode"] == "M_INVALID_PARAM"
    assert " / " in answer.json()["error"]


def test_report_is_for_administrators_only(server: GovChatServer) -> None:
    plain = server.register_plain_user()
    assert server.request("GET", REPORT_API, params={"month": this_month()}).status_code == 401
    assert server.request("GET", REPORT_API, plain.access_token, params={"month": this_month()}).status_code == 403
