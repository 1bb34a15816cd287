"""Government agencies and the e-mail domains that identify them (R1.1).

A domain covers its subdomains: `mampu.gov.my` also covers `hq.mampu.gov.my`.
When several listed domains cover an address, the most specific one names the
user's agency, so `gov.my` is the catch-all for every agency not listed by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agency:
    domain: str
    name: str
    ministry: str

    def covers(self, domain: str) -> bool:
        return domain == self.domain or domain.endswith("." + self.domain)

    def as_dict(self) -> dict[str, str]:
        return {"domain": self.domain, "name": self.name, "ministry": self.ministry}


def agency_for_domain(domain: str, agencies: Iterable[Agency]) -> Agency | None:
    """The most specific agency covering `domain` (already lower-case ASCII), if any."""
    covering = [agency for agency in agencies if agency.covers(domain)]
    if not covering:
        return None
    return max(covering, key=lambda agency: agency.domain.count(".") + 1)


def agencies_from_config(entries: Sequence[dict[str, str]]) -> tuple[Agency, ...]:
    """Agencies from already-validated settings entries."""
    return tuple(
        Agency(domain=entry["domain"], name=entry["name"], ministry=entry["ministry"])
        for entry in entries
    )
