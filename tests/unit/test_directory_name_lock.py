"""The name lock fails closed when the directory fails while a new account's e-mail is bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from synapse_modules.directory import ldap_directory
from synapse_modules.directory.config import parse_directory_config
from synapse_modules.directory.module import GovChatDirectory
from synapse_modules.directory.rules import DirectoryUnavailable, name_change_refusal


class FakeApi:
    def __init__(self, display_name: str | None) -> None:
        self.display_name = display_name

    async def defer_to_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(*args)

    async def get_profile_for_user(self, localpart: str) -> Any:
        return SimpleNamespace(display_name=self.display_name, avatar_url=None)


class FakeStore:
    def __init__(self) -> None:
        self.names: dict[str, tuple[str, bool]] = {}

    async def record_name(self, user_id: str, email: str, display_name: str, locked: bool, now_ms: int) -> None:
        self.names[user_id] = (display_name, locked)


def directory_module(display_name: str | None, lock: bool = True) -> tuple[GovChatDirectory, FakeStore]:
    config = parse_directory_config(
        {"agencies": [{"domain": "mampu.gov.my", "url": "ldap://127.0.0.1:1", "base_dn": "dc=mampu", "lock_display_name": lock}]}
    )
    module = GovChatDirectory.__new__(GovChatDirectory)
    store = FakeStore()
    module._config, module._api, module._store, module._recent = config, FakeApi(display_name), store, {}  # type: ignore[assignment]
    return module, store


def unreachable(*args: Any) -> None:
    raise DirectoryUnavailable("connection refused")


def test_directory_failing_while_the_email_is_bound_still_locks_the_registered_name(monkeypatch: Any) -> None:
    monkeypatch.setattr(ldap_directory, "lookup", unreachable)
    module, store = directory_module("Siti binti Ahmad")
    asyncio.run(module.on_add_user_third_party_identifier("@siti:govchat.test", "email", "siti@mampu.gov.my"))
    assert store.names["@siti:govchat.test"] == ("Siti binti Ahmad", True)
    assert name_change_refusal("Siti binti Ahmad", "Orang Lain") is not None


def test_unreadable_name_locks_to_none_anyone_could_set(monkeypatch: Any) -> None:
    monkeypatch.setattr(ldap_directory, "lookup", unreachable)
    module, store = directory_module(None)
    asyncio.run(module.on_add_user_third_party_identifier("@siti:govchat.test", "email", "siti@mampu.gov.my"))
    assert store.names["@siti:govchat.test"] == ("", True)
    assert name_change_refusal("", "Orang Lain") is not None


def test_agencies_that_do_not_lock_names_record_nothing_when_the_directory_fails(monkeypatch: Any) -> None:
    monkeypatch.setattr(ldap_directory, "lookup", unreachable)
    module, store = directory_module("Siti binti Ahmad", lock=False)
    asyncio.run(module.on_add_user_third_party_identifier("@siti:govchat.test", "email", "siti@mampu.gov.my"))
    assert store.names == {}
