"""The directory module's config: which agency domains have a staff directory, and how to read it.

Plain Python (no Synapse import), so `govchat/settings.py` checks the same rules
at start-up that the module applies: one place says what a valid entry is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DEFAULT_MAIL_ATTRIBUTE = "mail"
DEFAULT_NAME_ATTRIBUTE = "cn"
DEFAULT_TIMEOUT_SECONDS = 5
MAX_TIMEOUT_SECONDS = 60
MAX_SYNC_INTERVAL_MINUTES = 7 * 24 * 60
# LDAP calls block a thread each; GovChat gives them their own pool of this many
# threads (per process), apart from Synapse's pool for bcrypt and DNS.
DEFAULT_LOOKUP_THREADS = 4
MAX_LOOKUP_THREADS = 32

REQUIRED_KEYS = ("domain", "url", "base_dn")
OPTIONAL_KEYS = (
    "bind_dn",
    "bind_password",
    "mail_attribute",
    "name_attribute",
    "active_filter",
    "lock_display_name",
    "timeout_seconds",
)

_DOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+")
_LDAP_URL = re.compile(r"ldaps?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?/?")
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")


class DirectoryConfigProblem(ValueError):
    """A directory setting is wrong; the message names the entry and the key."""


@dataclass(frozen=True)
class DirectoryAgency:
    """One agency's directory. `domain` covers its subdomains, like registration agencies."""

    domain: str
    url: str
    base_dn: str
    bind_dn: str = ""
    bind_password: str = ""
    mail_attribute: str = DEFAULT_MAIL_ATTRIBUTE
    name_attribute: str = DEFAULT_NAME_ATTRIBUTE
    # An LDAP filter an entry must also match to be active, e.g. "(!(employeeType=disabled))".
    active_filter: str = ""
    lock_display_name: bool = True
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def covers(self, domain: str) -> bool:
        return domain == self.domain or domain.endswith("." + self.domain)


@dataclass(frozen=True)
class DirectoryConfig:
    agencies: tuple[DirectoryAgency, ...] = ()
    sync_interval_minutes: int = 60
    lookup_threads: int = DEFAULT_LOOKUP_THREADS

    @property
    def enabled(self) -> bool:
        return bool(self.agencies)


def parse_directory_config(config: dict[str, Any]) -> DirectoryConfig:
    interval = config.get("sync_interval_minutes", 60)
    problem = sync_interval_problem(interval)
    if problem:
        raise DirectoryConfigProblem(f"sync_interval_minutes: {problem}")
    threads = config.get("lookup_threads", DEFAULT_LOOKUP_THREADS)
    problem = lookup_threads_problem(threads)
    if problem:
        raise DirectoryConfigProblem(f"lookup_threads: {problem}")
    entries = config.get("agencies", [])
    if not isinstance(entries, list):
        raise DirectoryConfigProblem("agencies: must be a list")
    agencies = tuple(parse_directory_agency(index, entry) for index, entry in enumerate(entries))
    domains = [agency.domain for agency in agencies]
    for index, domain in enumerate(domains):
        if domain in domains[:index]:
            raise DirectoryConfigProblem(f"agencies entry {index + 1}: domain {domain} is listed twice")
    return DirectoryConfig(agencies=agencies, sync_interval_minutes=interval, lookup_threads=threads)


def parse_directory_agency(index: int, entry: Any) -> DirectoryAgency:
    where = f"agencies entry {index + 1}"
    if not isinstance(entry, dict):
        raise DirectoryConfigProblem(f"{where}: must be a mapping with at least domain, url and base_dn")
    unknown = sorted(set(entry) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        known = ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)
        raise DirectoryConfigProblem(f"{where}: unknown key {unknown[0]} (known: {known})")
    for key in REQUIRED_KEYS:
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise DirectoryConfigProblem(f"{where}: {key} must be non-empty text")
    for key in ("bind_dn", "bind_password", "mail_attribute", "name_attribute", "active_filter"):
        if key in entry and not isinstance(entry[key], str):
            raise DirectoryConfigProblem(f"{where}: {key} must be text")
    domain = entry["domain"].strip()
    if not _DOMAIN.fullmatch(domain) or domain.startswith("xn--"):
        raise DirectoryConfigProblem(f"{where}: domain must be a lower-case ASCII domain such as mampu.gov.my, got {domain!r}")
    url = entry["url"].strip()
    if not _LDAP_URL.fullmatch(url):
        raise DirectoryConfigProblem(f"{where}: url must look like ldaps://ldap.mampu.gov.my or ldap://10.0.0.5:389, got {url!r}")
    for key, default in (("mail_attribute", DEFAULT_MAIL_ATTRIBUTE), ("name_attribute", DEFAULT_NAME_ATTRIBUTE)):
        if not _ATTRIBUTE.fullmatch(entry.get(key, default)):
            raise DirectoryConfigProblem(f"{where}: {key} must be an LDAP attribute name such as {default}")
    active_filter = entry.get("active_filter", "").strip()
    if active_filter and not _balanced_filter(active_filter):
        raise DirectoryConfigProblem(f"{where}: active_filter must be one LDAP filter in parentheses, got {active_filter!r}")
    if bool(entry.get("bind_dn")) != bool(entry.get("bind_password")):
        raise DirectoryConfigProblem(f"{where}: bind_dn and bind_password go together (both empty binds anonymously)")
    lock = entry.get("lock_display_name", True)
    if not isinstance(lock, bool):
        raise DirectoryConfigProblem(f"{where}: lock_display_name must be true or false")
    timeout = entry.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise DirectoryConfigProblem(f"{where}: timeout_seconds must be a whole number from 1 to {MAX_TIMEOUT_SECONDS}")
    return DirectoryAgency(
        domain=domain,
        url=url,
        base_dn=entry["base_dn"].strip(),
        bind_dn=entry.get("bind_dn", ""),
        bind_password=entry.get("bind_password", ""),
        mail_attribute=entry.get("mail_attribute", DEFAULT_MAIL_ATTRIBUTE),
        name_attribute=entry.get("name_attribute", DEFAULT_NAME_ATTRIBUTE),
        active_filter=active_filter,
        lock_display_name=lock,
        timeout_seconds=timeout,
    )


def sync_interval_problem(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SYNC_INTERVAL_MINUTES:
        return f"must be a whole number of minutes from 1 to {MAX_SYNC_INTERVAL_MINUTES}, got {value!r}"
    return None


def lookup_threads_problem(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LOOKUP_THREADS:
        return f"must be a whole number of threads from 1 to {MAX_LOOKUP_THREADS}, got {value!r}"
    return None


def directory_agencies_problem(entries: Any) -> str | None:
    """For govchat/settings.py: the first problem with `directory.agencies`, or None."""
    try:
        parse_directory_config({"agencies": entries})
    except DirectoryConfigProblem as problem:
        return str(problem).removeprefix("agencies: ")
    return None


def directory_for(domain: str, agencies: tuple[DirectoryAgency, ...]) -> DirectoryAgency | None:
    """The most specific configured directory covering an e-mail domain, if any."""
    covering = [agency for agency in agencies if agency.covers(domain)]
    return max(covering, key=lambda agency: agency.domain.count("."), default=None)


def _balanced_filter(text: str) -> bool:
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or (depth == 0 and index != len(text) - 1):
            return False
    return depth == 0
