"""Reading an agency's staff directory over LDAP (ldap3). Blocking: call it from a thread.

Two searches tell "no entry" from "disabled": the entry by mail, then the same
search with the agency's `active_filter` added. Any failure to ask (network,
timeout, bind refused, bad base DN) raises `DirectoryUnavailable`, never "no entry".
"""

from __future__ import annotations

from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from synapse_modules.directory.config import DirectoryAgency
from synapse_modules.directory.rules import DirectoryEntry, DirectoryUnavailable

PAGE_SIZE = 500


def lookup(agency: DirectoryAgency, address: str) -> DirectoryEntry | None:
    """The entry for one address (lower-case), or None when the directory has none."""
    by_mail = f"({agency.mail_attribute}={escape_filter_chars(address)})"
    with _Connection(agency) as connection:
        found = _search(connection, agency, by_mail)
        if not found:
            return None
        mail, name = found[0]
        active = bool(_search(connection, agency, _and(by_mail, agency.active_filter))) if agency.active_filter else True
        return DirectoryEntry(mail=mail or address, name=name, active=active)


def all_entries(agency: DirectoryAgency) -> dict[str, DirectoryEntry]:
    """Every entry with a mail address, keyed by lower-case mail (for the sync)."""
    any_mail = f"({agency.mail_attribute}=*)"
    with _Connection(agency) as connection:
        everyone = _search(connection, agency, any_mail)
        active = {mail for mail, _ in _search(connection, agency, _and(any_mail, agency.active_filter))} if agency.active_filter else None
    return {
        mail: DirectoryEntry(mail=mail, name=name, active=active is None or mail in active)
        for mail, name in everyone
        if mail
    }


class _Connection:
    """An open, bound connection for one `with` block, unbound at its end."""

    def __init__(self, agency: DirectoryAgency) -> None:
        self._agency = agency
        self._connection: Any = None

    def __enter__(self) -> Any:
        agency = self._agency
        try:
            server = ldap3.Server(agency.url, connect_timeout=agency.timeout_seconds, get_info=ldap3.NONE)
            self._connection = ldap3.Connection(
                server,
                user=agency.bind_dn or None,
                password=agency.bind_password or None,
                receive_timeout=agency.timeout_seconds,
                raise_exceptions=True,
                read_only=True,
            )
            self._connection.bind()
        except LDAPException as error:
            raise DirectoryUnavailable(f"{agency.url}: {type(error).__name__}: {error}") from None
        return self._connection

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._connection.unbind()
        except LDAPException:
            pass


def _search(connection: Any, agency: DirectoryAgency, search_filter: str) -> list[tuple[str, str | None]]:
    """(lower-case mail, name) for each entry matching the filter."""
    try:
        results = connection.extend.standard.paged_search(
            agency.base_dn,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=[agency.mail_attribute, agency.name_attribute],
            paged_size=PAGE_SIZE,
            generator=False,
        )
    except LDAPException as error:
        raise DirectoryUnavailable(f"{agency.url}: {type(error).__name__}: {error}") from None
    found = []
    for result in results:
        if result.get("type") != "searchResEntry":
            continue
        attributes = result.get("attributes", {})
        found.append((_first(attributes.get(agency.mail_attribute)).lower(), _first(attributes.get(agency.name_attribute)) or None))
    return found


def _first(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else ""


def _and(first: str, second: str) -> str:
    return f"(&{first}{second})"
