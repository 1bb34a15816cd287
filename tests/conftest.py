"""Shared fixtures: one real GovChat homeserver for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import GovChatServer, User

# Only the address book differs from the documented defaults: a test agency with
# a subdomain shows that the most specific domain names the agency.
TEST_SETTINGS = {
    "registration": {
        "agencies": [
            {"domain": "gov.my", "name": "Kerajaan Malaysia (agensi lain)", "ministry": "Kerajaan Malaysia"},
            {"domain": "mampu.gov.my", "name": "MAMPU", "ministry": "Jabatan Perdana Menteri"},
            {"domain": "jpa.gov.my", "name": "Jabatan Perkhidmatan Awam", "ministry": "Jabatan Perdana Menteri"},
            {"domain": "moe.gov.my", "name": "Kementerian Pendidikan", "ministry": "Kementerian Pendidikan"},
        ]
    },
}


@pytest.fixture(scope="session")
def govchat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    with GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-data"), settings=TEST_SETTINGS).running() as server:
        yield server


@pytest.fixture(scope="session")
def admin(govchat: GovChatServer) -> User:
    return govchat.register_admin()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "nio-store"
