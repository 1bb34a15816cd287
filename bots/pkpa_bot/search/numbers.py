"""Recognising numbered circular references such as "PKPA Bil. 1 Tahun 2021".

Civil servants write the same reference many ways: "PKPA 1/2021",
"pkpa bil 1 tahun 2021", "Pekeliling Kemajuan Pentadbiran Awam 1/2021",
"PKPA No. 1 of 2021" or just "1/2021".  ``parse_reference`` reduces all of
them to a ``NumberedReference`` (kind may be None when not written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_YEAR = 1950
MAX_YEAR = 2099

# Spellings of each kind, checked longest first so that "surat pekeliling am"
# is not read as "pekeliling am".  The bare word "pekeliling" names no kind.
KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "SPKPA": ("surat pekeliling kemajuan pentadbiran awam", "spkpa"),
    "PKPA": (
        "pekeliling kemajuan pentadbiran awam",
        "public administration development circular",
        "pkpa",
    ),
    "SPA": ("surat pekeliling am", "general circular letter", "spa"),
    "PA": ("pekeliling am", "general circular", "pa"),
    "PTPA": ("pekeliling transformasi pentadbiran awam", "ptpa"),
    "SAKP": ("surat arahan ketua pengarah", "sakp"),
    "APKP": ("arahan pentadbiran ketua pengarah", "apkp"),
}

_ALIAS_TO_KIND: list[tuple[str, str]] = sorted(
    ((alias, kind) for kind, aliases in KIND_ALIASES.items() for alias in aliases),
    key=lambda pair: len(pair[0]),
    reverse=True,
)
_KIND_PATTERN = re.compile(r"\b(" + "|".join(re.escape(alias) for alias, _ in _ALIAS_TO_KIND) + r")\b")
_ALIAS_LOOKUP = dict(_ALIAS_TO_KIND)

# "1/2021", "bil 1 tahun 2021", "bil. 1 tahun 2021", "no. 1 of 2021",
# "bilangan 01 tahun 2021".  The year must have four digits: "1/21" is too
# easily a date.
_NUMBER_PATTERN = re.compile(
    r"(?:\b(?:bil|bilangan|no|nombor|number)\.?\s*)?"
    r"\b0*(\d{1,3})\s*(?:/|\btahun\b|\bof\b|\byear\b)\s*((?:19|20)\d\d)\b"
)
_YEAR_PATTERN = re.compile(r"\b((?:19|20)\d\d)\b")


@dataclass(frozen=True)
class NumberedReference:
    """A reference to one numbered circular, e.g. kind PKPA, 1, 2021."""

    kind: str | None
    number: int
    year: int
    span: tuple[int, int]  # where the reference sits in the normalised query

    @property
    def display(self) -> str:
        """The reference written the standard way, e.g. "PKPA 1/2021"."""
        prefix = f"{self.kind} " if self.kind else ""
        return f"{prefix}{self.number}/{self.year}"


def normalise_query(query: str) -> str:
    """Lower-case, split glued kind and number ("pkpa1/2021"), tidy spaces."""
    lowered = re.sub(r"[^\w/.:'\-]+", " ", query.lower())
    lowered = re.sub(r"([a-z])(\d)", r"\1 \2", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def parse_reference(query: str) -> NumberedReference | None:
    """The numbered reference in a query, or None when there is none."""
    text = normalise_query(query)
    match = _NUMBER_PATTERN.search(text)
    if match is None:
        return None
    year = int(match.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    kind = _kind_before(text, match.start())
    start = _kind_start(text, match.start()) if kind else match.start()
    return NumberedReference(kind, int(match.group(1)), year, (start, match.end()))


def find_kind_mention(normalised: str) -> tuple[str, tuple[int, int]] | None:
    """The first kind named in an already normalised query, with its span."""
    match = _KIND_PATTERN.search(normalised)
    return (_ALIAS_LOOKUP[match.group(1)], match.span()) if match else None


def find_years(text: str) -> list[int]:
    """Plausible circular years mentioned in a text."""
    years = (int(found) for found in _YEAR_PATTERN.findall(text))
    return [year for year in years if MIN_YEAR <= year <= MAX_YEAR]


def strip_span(text: str, span: tuple[int, int]) -> str:
    """The text with the given span cut out (used to drop a reference)."""
    return (text[: span[0]] + " " + text[span[1] :]).strip()


def _kind_match_before(text: str, position: int) -> re.Match[str] | None:
    """A kind alias written right before the number ("PKPA" in "PKPA 1/2021")."""
    matches = list(_KIND_PATTERN.finditer(text, 0, position))
    if matches and not text[matches[-1].end() : position].strip(" ."):
        return matches[-1]
    return None


def _kind_before(text: str, position: int) -> str | None:
    match = _kind_match_before(text, position)
    return _ALIAS_LOOKUP[match.group(1)] if match else None


def _kind_start(text: str, position: int) -> int:
    match = _kind_match_before(text, position)
    return match.start() if match else position
