"""The directory sync with a stand-in homeserver: what it deactivates, reports and counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from synapse_modules.directory import sync as sync_module
from synapse_modules.directory.config import parse_directory_config
from synapse_modules.directory.rules import Account, DirectoryEntry, DirectoryUnavailable
from synapse_modules.directory.sync import DirectorySync

CONFIG = parse_directory_config(
    {"agencies": [{"domain": "mampu.gov.my", "url": "ldap://127.0.0.1:1", "base_dn": "dc=mampu,dc=gov,dc=my"}]}
)


class FakeApi:
    server_name = "govchat.test"

    def __init__(self, admins: frozenset[str] = frozenset()) -> None:
        self.admins = set(admins)

    async def is_user_admin(self, user_id: str) -> bool:
        return user_id in self.admins


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


def run_sync(monkeypatch: pytest.MonkeyPatch, dry_run: bool, entries: Any) -> tuple[dict[str, Any], list[str]]:
    deactivated: list[str] = []

    class FakeOutbox:
        async def enqueue(self, items: list[Any]) -> list[str]:
            deactivated.extend(item.payload["user_id"] for item in items if item.kind == "deactivate")
            return ["id"] * len(items)

    async def without_lease(api: Any, job: str, lease_ms: int, trigger: str, function: Callable[[], Any]) -> Any:
        return await function()

    def all_entries(agency: Any) -> Any:
        if isinstance(entries, Exception):
            raise entries
        return entries

    monkeypatch.setattr(sync_module.outbox, "outbox_for", lambda api: FakeOutbox())
    monkeypatch.setattr(sync_module, "run_exclusive", without_lease)
    monkeypatch.setattr(sync_module.ldap_directory, "all_entries", all_entries)
    sync = DirectorySync(FakeApi({"@boss:govchat.test"}), CONFIG, FakeStore(ACCOUNTS), InlineLdapThreads())  # type: ignore[arg-type]
    return asyncio.run(sync.run(dry_run=dry_run, by_admin="@admin:govchat.test")), deactivated


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
    assert [e["user_id"] for e in report["deactivated"]] == deactivated
    assert counter("govchat_directory_sync_deactivated_total", reason="disabled") == before + 1


def test_unreadable_or_empty_directory_deactivates_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    before = counter("govchat_directory_sync_errors_total", kind="directory")
    for entries in (DirectoryUnavailable("down"), {}):
        report, deactivated = run_sync(monkeypatch, False, entries)
        assert deactivated == [] and report["deactivated"] == []
        assert [error["domain"] for error in report["errors"]] == ["mampu.gov.my"]
    assert counter("govchat_directory_sync_errors_total", kind="directory") == before + 2
