"""The circulars library against a real homeserver: administrators keep it current (R7.1, R8.5).

Everything goes through `govchat circulars ...`, the console command administrators
use, which calls the admin API. The GovChat guideline itself (SAKP 1/2022) is the
imported document; its text is read from shared/seed, never copied into the project.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import REPO_ROOT, GovChatServer, User
from tests.pdf_from_text import pdf_from_text, pdf_without_text

# shared/ lies beside the work tree, on developers' machines and in CI alike.
GUIDELINE = REPO_ROOT.parent / "shared" / "seed" / "garis-panduan-govchat-sakp-1-2022.txt"
DEV_QUESTIONS = REPO_ROOT / "bots" / "pkpa_bot" / "data" / "dev_passages.tsv"
HELDOUT_QUESTIONS = REPO_ROOT / "tests" / "unit" / "heldout_passages.tsv"
SECOND_HELDOUT_QUESTIONS = REPO_ROOT / "tests" / "unit" / "heldout2_passages.tsv"
LIBRARY = "/_synapse/client/govchat/v1/circulars"

# A circular the catalogue does not have, written by the test.
NEW_CIRCULAR_TEXT = """PEKELILING UJIAN

TUJUAN

1. Pekeliling ini menerangkan penjagaan tumbuhan hiasan di pejabat kerajaan.

LAMPIRAN A

1.1 PENYIRAMAN

Tumbuhan hiasan di lobi pejabat hendaklah disiram dua kali seminggu oleh unit pentadbiran.

1.2 BAJA

Baja organik sahaja digunakan bagi tumbuhan hiasan di dalam bangunan.
"""


def govchat_cli(server: GovChatServer, admin: User, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govchat", "circulars", *arguments, "--token", admin.access_token, "--url", server.base_url],
        cwd=REPO_ROOT,
        env=server.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def import_guideline(server: GovChatServer, admin: User) -> subprocess.CompletedProcess[str]:
    return govchat_cli(server, admin, "import", str(GUIDELINE), "--id", "SAKP-1-2022")


def listed(server: GovChatServer, admin: User) -> dict[str, list[str]]:
    completed = govchat_cli(server, admin, "list")
    assert completed.returncode == 0, completed.stderr
    return {line.split("\t")[0]: line.split("\t") for line in completed.stdout.splitlines()}


def library_revision(server: GovChatServer) -> int:
    return int(server.request("GET", f"{LIBRARY}/library").json()["revision"])


def test_the_starting_catalogue_is_the_36_researched_circulars(govchat: GovChatServer, admin: User) -> None:
    rows = listed(govchat, admin)
    tsv_ids = {
        line.split("\t")[0]
        for line in (REPO_ROOT / "bots" / "pkpa_bot" / "search" / "data" / "circulars.tsv").read_text().splitlines()[1:]
    }
    assert len(tsv_ids) == 36
    assert tsv_ids <= set(rows)
    assert rows["PA-1-2001"][1] == "cancelled"


def test_guideline_text_is_imported_with_its_own_sections(govchat: GovChatServer, admin: User) -> None:
    completed = import_guideline(govchat, admin)
    assert completed.returncode == 0, completed.stderr
    row = listed(govchat, admin)["SAKP-1-2022"]
    assert int(row[3]) > 50  # paragraphs
    library = govchat.request("GET", f"{LIBRARY}/library").json()
    guideline = next(c for c in library["circulars"] if c["id"] == "SAKP-1-2022")
    sections = {p["section"] for p in guideline["passages"]}
    assert {"1.1", "1.2", "2.3.4", "4.1.2", "4.3"} <= sections
    edit_rule = [p for p in guideline["passages"] if p["section"] == "2.3.4" and "lima minit" in p["text"]]
    assert [p["label"] for p in edit_rule] == ["a.iv"]
    assert edit_rule[0]["heading"] == "PERBUALAN DAN SALURAN UMUM"


def test_pdf_made_from_text_is_imported_then_restatused_and_removed(govchat: GovChatServer, admin: User, tmp_path: Path) -> None:
    pdf = tmp_path / "pekeliling-ujian.pdf"
    pdf.write_bytes(pdf_from_text(NEW_CIRCULAR_TEXT))
    imported = govchat_cli(govchat, admin, "import", str(pdf), "--id", "PKPA-7-2026", "--title", "Penjagaan Tumbuhan Hiasan")
    assert imported.returncode == 0, imported.stderr
    row = listed(govchat, admin)["PKPA-7-2026"]
    assert row[1] == "in_force" and int(row[3]) >= 3

    answer = govchat.request("GET", f"{LIBRARY}/search", params={"q": "berapa kali tumbuhan hiasan disiram"}).json()
    assert answer["passages"][0]["circular_id"] == "PKPA-7-2026"
    assert answer["passages"][0]["section"] == "1.1"

    restatused = govchat_cli(govchat, admin, "set-status", "PKPA-7-2026", "cancelled", "--superseded-by", "PKPA-1-2021")
    assert restatused.returncode == 0, restatused.stderr
    assert listed(govchat, admin)["PKPA-7-2026"][1:3] == ["cancelled", "PKPA-1-2021"]

    removed = govchat_cli(govchat, admin, "remove", "PKPA-7-2026")
    assert removed.returncode == 0, removed.stderr
    assert "PKPA-7-2026" not in listed(govchat, admin)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("rosak.pdf", b"%PDF-1.4\nthis is not a real PDF", "cannot be read"),
        ("imbasan.pdf", pdf_without_text(), "holds no text"),
    ],
)
def test_bad_pdf_is_refused_with_one_line_and_nothing_changed(
    govchat: GovChatServer, admin: User, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    before_rows, before_revision = listed(govchat, admin), library_revision(govchat)
    path = tmp_path / name
    path.write_bytes(content)
    completed = govchat_cli(govchat, admin, "import", str(path), "--id", "PKPA-1-2021")
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert "400 M_INVALID_PARAM" in completed.stderr and expected in completed.stderr
    assert listed(govchat, admin) == before_rows
    assert library_revision(govchat) == before_revision


def test_unknown_id_and_bad_status_are_refused_naming_the_field(govchat: GovChatServer, admin: User) -> None:
    unknown = govchat_cli(govchat, admin, "set-status", "PKPA-99-2099", "cancelled")
    assert unknown.returncode == 2 and "404 M_NOT_FOUND" in unknown.stderr and "PKPA-99-2099" in unknown.stderr
    removed = govchat_cli(govchat, admin, "remove", "PKPA-99-2099")
    assert removed.returncode == 2 and "404" in removed.stderr

    bad = govchat.request("POST", f"{LIBRARY}/PA-1-2001/status", admin.access_token, json={"status": "expired"})
    assert bad.status_code == 400
    assert bad.json()["errcode"] == "M_INVALID_PARAM" and bad.json()["field"] == "status"
    successor = govchat.request(
        "POST", f"{LIBRARY}/PA-1-2001/status", admin.access_token, json={"status": "cancelled", "superseded_by": "PA-9-2099"}
    )
    assert successor.status_code == 400 and successor.json()["field"] == "superseded_by"
    new_without_title = govchat.request(
        "POST",
        f"{LIBRARY}/PKPA-8-2026/import",
        admin.access_token,
        json={"format": "text", "content_base64": base64.b64encode(b"1. Teks.").decode()},
    )
    assert new_without_title.status_code == 400 and new_without_title.json()["field"] == "title_ms"
    assert "PKPA-8-2026" not in listed(govchat, admin)


def test_only_administrators_change_the_library(govchat: GovChatServer) -> None:
    user = govchat.register_plain_user()
    body = {"status": "cancelled"}
    assert govchat.request("POST", f"{LIBRARY}/PKPA-1-2021/status", user.access_token, json=body).status_code == 403
    assert govchat.request("POST", f"{LIBRARY}/PKPA-1-2021/status", json=body).status_code == 401
    assert govchat.request("DELETE", f"{LIBRARY}/PKPA-1-2021", user.access_token).status_code == 403
    assert govchat.request("GET", LIBRARY, user.access_token).status_code == 403


def test_restricted_circulars_need_a_sign_in(govchat: GovChatServer, admin: User, tmp_path: Path) -> None:
    text = tmp_path / "terhad.md"
    text.write_text("1. Prosedur dalaman kunci bilik server zeta hanya untuk pegawai bertugas.\n", encoding="utf-8")
    imported = govchat_cli(govchat, admin, "import", str(text), "--id", "APKP-3-2026", "--title", "Prosedur Dalaman", "--restricted")
    assert imported.returncode == 0, imported.stderr
    question = {"q": "kunci bilik server zeta"}
    visitor = govchat.request("GET", f"{LIBRARY}/search", params=question).json()
    assert all(p["circular_id"] != "APKP-3-2026" for p in visitor["passages"])
    user = govchat.register_plain_user()
    signed_in = govchat.request("GET", f"{LIBRARY}/search", user.access_token, params=question).json()
    assert signed_in["passages"][0]["circular_id"] == "APKP-3-2026"
    visitor_library = govchat.request("GET", f"{LIBRARY}/library").json()
    assert "APKP-3-2026" not in {c["id"] for c in visitor_library["circulars"]}
    user_library = govchat.request("GET", f"{LIBRARY}/library", user.access_token).json()
    assert "APKP-3-2026" in {c["id"] for c in user_library["circulars"]}
    assert govchat_cli(govchat, admin, "remove", "APKP-3-2026").returncode == 0


def evaluate(server: GovChatServer, questions: Path) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bots.pkpa_bot.evaluate", "--passages", str(questions)],
        cwd=REPO_ROOT,
        env=server.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    print(f"{questions.name}:\n{completed.stdout}")  # latency is reported, not asserted
    pairs = [line.split(": ") for line in completed.stdout.strip().splitlines()]
    assert [name for name, _ in pairs] == [
        "queries",
        "passage_recall@1",
        "passage_recall@3",
        "passage_mrr@3",
        "not_found_accuracy",
        "p50_ms",
        "p99_ms",
    ]
    return {name: float(value) for name, value in pairs}


def test_passage_answers_meet_the_targets_on_the_development_set(govchat: GovChatServer, admin: User) -> None:
    assert import_guideline(govchat, admin).returncode == 0
    development = evaluate(govchat, DEV_QUESTIONS)
    assert development["queries"] >= 60
    assert development["passage_mrr@3"] >= 0.8
    assert development["not_found_accuracy"] >= 0.8
    # Both held-out sets are measured through the running library and reported, not held to the development
    # target: the first was tuned on (docs/pkpa-search.md) and the second, written blind, shows the gap
    # (tests/unit/test_pkpa_evaluate.py keeps its figure as a strict expected failure).
    for held_out in (HELDOUT_QUESTIONS, SECOND_HELDOUT_QUESTIONS):
        assert evaluate(govchat, held_out)["queries"] >= 30


def test_portal_circulars_page_answers_without_sign_in(govchat: GovChatServer, admin: User) -> None:
    assert import_guideline(govchat, admin).returncode == 0
    page = govchat.request("GET", "/_synapse/client/govchat/portal/circulars", params={"q": "berapa lama boleh edit mesej?"})
    assert page.status_code == 200
    assert "SAKP 1/2022, seksyen 2.3.4 (a)(iv)" in page.text
    assert "lima minit" in page.text and "<mark>Suntingan</mark>" in page.text
    english = govchat.request("GET", "/_synapse/client/govchat/portal/circulars", params={"q": "resepi nasi lemak", "lang": "en"})
    assert english.status_code == 200 and 'id="not-found"' in english.text
    escaped = govchat.request("GET", "/_synapse/client/govchat/portal/circulars", params={"q": "<script>x</script> mesej"})
    assert "<script>x" not in escaped.text
