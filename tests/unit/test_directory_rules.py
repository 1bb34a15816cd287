"""The directory's decisions and config, as plain values: no Synapse, no LDAP."""

from __future__ import annotations

import pytest

from govchat.settings import SettingsError, load_settings
from synapse_modules.directory.config import DirectoryConfigProblem, directory_for, parse_directory_config
from synapse_modules.directory.rules import (
    NAME_LOCKED,
    NO_ACTIVE_ENTRY,
    Account,
    DirectoryEntry,
    SyncReason,
    accounts_to_deactivate,
    display_name_from,
    member_event_refusal,
    name_change_refusal,
    registration_refusal,
)

AGENCY = {"domain": "mampu.gov.my", "url": "ldaps://ldap.mampu.gov.my", "base_dn": "ou=people,dc=mampu,dc=gov,dc=my"}


def test_active_entry_may_register_and_others_may_not() -> None:
    assert registration_refusal(DirectoryEntry("a@mampu.gov.my", "Ali", active=True)) is None
    assert registration_refusal(DirectoryEntry("a@mampu.gov.my", "Ali", active=False)) == NO_ACTIVE_ENTRY
    assert registration_refusal(None) == NO_ACTIVE_ENTRY


def test_display_name_is_the_directory_name_with_spaces_tidied() -> None:
    assert display_name_from(DirectoryEntry("a@x", "  Siti   Aminah ", True)) == "Siti Aminah"
    assert display_name_from(DirectoryEntry("a@x", None, True)) is None


def test_locked_name_may_only_be_set_to_itself() -> None:
    assert name_change_refusal("Siti Aminah", "Siti Aminah") is None
    assert name_change_refusal("Siti Aminah", "Cik Siti") == NAME_LOCKED
    assert name_change_refusal("Siti Aminah", "") == NAME_LOCKED
    assert name_change_refusal(None, "anything") is None


def test_own_join_with_another_room_name_is_refused() -> None:
    assert member_event_refusal("@a:x", "@a:x", "join", "Lain", "Siti") == NAME_LOCKED
    assert member_event_refusal("@a:x", "@a:x", "join", "Siti", "Siti") is None
    assert member_event_refusal("@a:x", "@a:x", "join", None, "Siti") is None
    # Leaves and knocks show a per-room name as joins do.
    assert member_event_refusal("@a:x", "@a:x", "leave", "Lain", "Siti") == NAME_LOCKED
    assert member_event_refusal("@a:x", "@a:x", "knock", "Lain", "Siti") == NAME_LOCKED
    assert member_event_refusal("@a:x", "@a:x", "leave", None, "Siti") is None
    assert member_event_refusal("@b:x", "@a:x", "invite", "Lain", "Siti") is None


def test_sync_deactivates_accounts_whose_entry_is_gone_or_disabled() -> None:
    accounts = [Account("@c:x", "c@m.gov.my"), Account("@a:x", "a@m.gov.my"), Account("@b:x", "b@m.gov.my")]
    entries = {"a@m.gov.my": DirectoryEntry("a@m.gov.my", "A", True), "b@m.gov.my": DirectoryEntry("b@m.gov.my", "B", False)}
    decisions = accounts_to_deactivate(accounts, entries)
    assert [(d.user_id, d.reason) for d in decisions] == [("@b:x", SyncReason.DISABLED), ("@c:x", SyncReason.NO_ENTRY)]


def test_most_specific_directory_covers_subdomains() -> None:
    config = parse_directory_config({"agencies": [AGENCY, {**AGENCY, "domain": "hq.mampu.gov.my"}]})
    assert directory_for("hq.mampu.gov.my", config.agencies).domain == "hq.mampu.gov.my"  # type: ignore[union-attr]
    assert directory_for("x.mampu.gov.my", config.agencies).domain == "mampu.gov.my"  # type: ignore[union-attr]
    assert directory_for("jpa.gov.my", config.agencies) is None


def test_config_defaults() -> None:
    [agency] = parse_directory_config({"agencies": [AGENCY]}).agencies
    assert (agency.mail_attribute, agency.name_attribute, agency.lock_display_name, agency.active_filter) == ("mail", "cn", True, "")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"url": "http://ldap.mampu.gov.my"}, "url"),
        ({"domain": "MAMPU"}, "domain"),
        ({"base_dn": ""}, "base_dn"),
        ({"bind_dn": "cn=x"}, "bind_dn and bind_password"),
        ({"active_filter": "employeeType=disabled"}, "active_filter"),
        ({"lock_display_name": "ya"}, "lock_display_name"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"colour": "blue"}, "unknown key colour"),
    ],
)
def test_bad_directory_entry_is_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(DirectoryConfigProblem, match=named):
        parse_directory_config({"agencies": [{**AGENCY, **change}]})


def test_settings_file_checks_the_directory_section(tmp_path: object) -> None:
    from pathlib import Path

    data_dir = Path(str(tmp_path))
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "govchat.yaml").write_text("directory:\n  agencies:\n    - domain: mampu.gov.my\n      url: ftp://x\n      base_dn: dc=x\n")
    with pytest.raises(SettingsError, match=r"^directory.agencies: agencies entry 1: url"):
        load_settings(data_dir, 8008)
    (data_dir / "govchat.yaml").write_text("directory:\n  sync_interval_minutes: 0\n")
    with pytest.raises(SettingsError, match=r"^directory.sync_interval_minutes"):
        load_settings(data_dir, 8008)
