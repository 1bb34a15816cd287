"""Shared fixtures: one real GovChat homeserver for the whole test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import CLUSTERS_TO_REMOVE, LAYOUT, GovChatServer, User

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Test servers of the worker layout run as root keep PostgreSQL outside their data folder."""
    import shutil

    for cluster in CLUSTERS_TO_REMOVE:
        shutil.rmtree(cluster, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The worker layout needs Debian packages; a developer without them is told which (CI must have them)."""
    if LAYOUT != "workers":
        return
    missing = worker_layout_packages_missing()
    if not missing:
        return
    message = f"the worker layout needs: apt-get install {' '.join(missing)}"
    if os.environ.get("CI"):
        raise pytest.UsageError(message)
    for item in items:
        item.add_marker(pytest.mark.skip(reason=message))


def worker_layout_packages_missing() -> list[str]:
    import shutil

    from govchat.postgres import find_server_binaries
    from govchat.proxy import find_nginx

    missing = [] if find_server_binaries() else ["postgresql"]
    missing += [] if shutil.which("redis-server") else ["redis-server"]
    missing += [] if find_nginx() else ["nginx-light"]
    return missing
