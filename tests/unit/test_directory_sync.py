"""The directory sync with a stand-in homeserver: what it deactivates, reports and counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY

from govchat import schema
from synapse_modules.common import outbox
from synapse_modules.directory import sync as sync_module
from synapse_modules.directory.config import parse_directory_config
from synapse_modules.directory.rules import Account, DirectoryEntry, DirectoryUnavailable
from synapse_modules.directory.sync import DirectorySync
from tests.unit.test_outbox import FakeProcess

CONFIG = parse_directory_config(
    {"agencies": [{"domain": "mampu.gov.my", "url": "ldap://127.0.0.1:1", "base_dn": "dc=mampu,dc=gov,dc=my"}]}
)


class FakeApi:
    server_name = "govchat.test"

    def __init__(self, admins: frozenset[str] = frozenset()) -> None:
        self.admins = set(admins)
        self.deactivated: list[str] = []

    async def is_user_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    async def get_userinfo_by_id(self, user_id: str) -> Any:
        return SimpleNamespace(is_deactivated=user_id in self.deactivated)


class InlineLdapThreads:
    """The directory's own LDAP pool, run inline (the stand-in homeserver has no thread pool)."""

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(*args)


class FakeStore:
    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = accounts

    async def active_email_accounts(self) -> list[Account]:
        return self.accounts


ACCOUNTS = [
    Account("@gone:govchat.test", "gone@mampu.gov.my"),
    Account("@off:govchat.test", "off@mampu.gov.my"),
    Account("@here:govchat.test", "here@mampu.gov.my"),
    Account("@boss:govchat.test", "boss@mampu.gov.my"),
    Account("@other:govchat.test", "other@jpa.gov.my"),
]
ENTRIES = {
    "off@mampu.gov.my": DirectoryEntry("off@mampu.gov.my", "Off", False),
    "here@mampu.gov.my": DirectoryEntry("here@mampu.gov.my", "Here", True),
}


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run_sync(
    monkeypatch: pytest.MonkeyPatch, dry_run: bool, entries: Any, unqueueable: frozenset[str] = frozenset(), box: Any = None
) -> tuple[dict[str, Any], list[str]]:
    """One sync against `entries` on the main process; deactivations go to an outbox that carries them
    out at once (refusing to queue `unqueueable`), or to `box`."""
    api = box._api if box is not None else FakeApi({"@boss:govchat.test"})

    class FakeOutbox:
        async def enqueue(self, items: list[Any]) -> list[str]:
            for item in items:
                if item.payload["user_id"] in unqueueable:
                    raise ConnectionError("database connection lost")
            api.deactivated.extend(item.payload["user_id"] for item in items if item.kind == "deactivate")
            return ["id"] * len(items)

    async def without_lease(api: Any, job: str, lease_ms: int, trigger: str, function: Callable[[], Any]) -> Any:
        return await function()

    def all_entries(agency: Any) -> Any:
        if isinstance(entries, Exception):
            raise entries
        return entries

    outbox_here = box if box is not None else FakeOutbox()
    monkeypatch.setattr(sync_module.outbox, "outbox_for", lambda api: outbox_here)
    monkeypatch.setattr(sync_module, "run_exclusive", without_lease)
    monkeypatch.setattr(sync_module.ldap_directory, "all_entries", all_entries)
    sync = DirectorySync(api, CONFIG, FakeStore(ACCOUNTS), InlineLdapThreads())  # type: ignore[arg-type]
    return asyncio.run(sync.run(dry_run=dry_run, by_admin="@admin:govchat.test")), api.deactivated


def test_dry_run_reports_without_deactivating(monkeypatch: pytest.MonkeyPatch) -> None:
    report, deactivated = run_sync(monkeypatch, True, ENTRIES)
    assert deactivated == []
    assert [(e["user_id"], e["reason"]) for e in report["would_deactivate"]] == [
        ("@gone:govchat.test", "no_entry"),
        ("@off:govchat.test", "disabled"),
    ]
    assert [e["user_id"] for e in report["skipped"]] == ["@boss:govchat.test"]


def test_real_run_deactivates_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    before = counter("govchat_directory_sync_deactivated_total", reason="disabled")
    report, deactivated = run_sync(monkeypatch, False, ENTRIES)
    assert deactivated == ["@gone:govchat.test", "@off:govchat.test"]
    assert [e["user_id"] for e in report["deactivated"]] == deactivated and report["queued"] == []
    assert counter("govchat_directory_sync_deactivated_total", reason="disabled") == before + 1


def test_unreadable_or_empty_directory_deactivates_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    before = counter("govchat_directory_sync_errors_total", kind="directory")
    for entries in (DirectoryUnavailable("down"), {}):
        report, deactivated = run_sync(monkeypatch, False, entries)
        assert deactivated == [] and report["deactivated"] == []
        assert [error["domain"] for error in report["errors"]] == ["mampu.gov.my"]
    assert counter("govchat_directory_sync_errors_total", kind="directory") == before + 2


def test_a_deactivation_that_cannot_be_queued_is_reported_as_an_error_not_as_done(monkeypatch: pytest.MonkeyPatch) -> None:
    before = counter("govchat_directory_sync_errors_total", kind="deactivation")
    report, deactivated = run_sync(monkeypatch, False, ENTRIES, unqueueable=frozenset({"@off:govchat.test"}))
    assert deactivated == ["@gone:govchat.test"]
    assert [e["user_id"] for e in report["deactivated"]] == ["@gone:govchat.test"]
    assert report["errors"] == [{"domain": "mampu.gov.my", "user_id": "@off:govchat.test", "error": "deactivation failed"}]
    assert counter("govchat_directory_sync_errors_total", kind="deactivation") == before + 1


class MainProcess(FakeApi):
    """The main process as the outbox sees it: GovChat's schema in SQLite, and accounts that may be deactivated."""

    worker_name = None

    def __init__(self, database: Path) -> None:
        super().__init__(frozenset({"@boss:govchat.test"}))
        self._database = FakeProcess(database)

    async def run_db_interaction(self, desc: str, function: Callable[..., Any], *args: Any) -> Any:
        return await self._database.run_db_interaction(desc, function, *args)


def test_a_deactivation_that_fails_stays_queued_and_is_carried_out_once_on_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "homeserver.db"
    schema.upgrade_database({"name": "sqlite3", "args": {"database": str(database)}})
    main = MainProcess(database)
    box = outbox.Outbox(main)  # type: ignore[arg-type]
    clock = [10_000_000]
    monkeypatch.setattr(outbox, "now_ms", lambda: clock[0])
    synapse_refuses = [True]

    async def deactivate_account(api: Any, user_id: str, by: str) -> None:
        if synapse_refuses[0]:
            raise RuntimeError("could not deactivate")
        main.deactivated.append(user_id)

    monkeypatch.setattr(outbox, "deactivate_account", deactivate_account)
    report, deactivated = run_sync(monkeypatch, False, ENTRIES, box=box)
    assert deactivated == [] and report["deactivated"] == [], "a failed deactivation is not reported as done"
    assert [e["user_id"] for e in report["queued"]] == ["@gone:govchat.test", "@off:govchat.test"]
    pending = asyncio.run(box.listing(10))["pending"]
    assert sorted((item["recipient"], item["attempts"]) for item in pending) == [("@gone:govchat.test", 1), ("@off:govchat.test", 1)]
    assert all("could not deactivate" in item["last_error"] for item in pending)

    synapse_refuses[0] = False
    clock[0] += outbox.FIRST_RETRY_MS
    asyncio.run(box.drain())
    asyncio.run(box.drain())
    assert sorted(main.deactivated) == ["@gone:govchat.test", "@off:govchat.test"]
    assert asyncio.run(box.listing(10)) == {"pending": [], "given_up": []}
