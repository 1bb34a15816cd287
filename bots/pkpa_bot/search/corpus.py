"""The circular records the search engine works over.

The data lives in ``data/circulars.tsv`` next to this module so that the
package is self-contained.  The first nine columns are facts taken from the
project's research; ``keywords`` holds hand-written Malay and English search
words that are not facts about the circular.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CORPUS_PATH = Path(__file__).with_name("data") / "circulars.tsv"

REQUIRED_COLUMNS = (
    "id",
    "kind",
    "number",
    "year",
    "date",
    "title_ms",
    "subject_en",
    "status",
    "source",
)

# Full Malay names of the circular kinds, for display and for look-ups.
KIND_NAMES_MS: dict[str, str] = {
    "PKPA": "Pekeliling Kemajuan Pentadbiran Awam",
    "SPKPA": "Surat Pekeliling Kemajuan Pentadbiran Awam",
    "PA": "Pekeliling Am",
    "SPA": "Surat Pekeliling Am",
    "PTPA": "Pekeliling Transformasi Pentadbiran Awam",
    "SAKP": "Surat Arahan Ketua Pengarah",
    "APKP": "Arahan Pentadbiran Ketua Pengarah",
}

STATUS_CANCELLED = "cancelled"
STATUS_IN_FORCE = "in force"
STATUS_UNKNOWN = "unknown"
STATUS_AMENDED = "amended"

# Status codes an administrator sets in the library, and the category each means.
STATUS_CODES: dict[str, str] = {
    "in_force": STATUS_IN_FORCE,
    "amended": STATUS_AMENDED,
    "cancelled": STATUS_CANCELLED,
    "unknown": STATUS_UNKNOWN,
}


class CorpusError(ValueError):
    """The corpus file is missing a column or holds a malformed row."""


@dataclass(frozen=True)
class Circular:
    """One government circular, exactly as the data file describes it."""

    id: str
    kind: str
    number: int | None  # None for circulars known only by date (some SAKP)
    year: int
    date: str  # ISO date when known, else ""
    title_ms: str
    subject_en: str
    status: str  # free text from the data, e.g. "DIBATALKAN by PA 4/2022"
    source: str
    keywords: str = ""
    status_code: str = ""  # set in the library by an administrator: in_force, amended, cancelled, unknown
    superseded_by: str = ""  # id of the circular that replaces it, when known
    public: bool = True  # shown on the portal without signing in

    @property
    def display_id(self) -> str:
        """Human identifier such as ``PKPA 1/2021``."""
        return display_id(self)

    @property
    def status_category(self) -> str:
        """Coarse status: cancelled, amended, in force or unknown.

        The administrator's status code when the library has one, else read
        from the free-text status (see ``classify_status``).
        """
        if self.status_code in STATUS_CODES:
            return STATUS_CODES[self.status_code]
        return classify_status(self.status)


def display_id(circular: Circular) -> str:
    """Format kind, number and year the way civil servants write them."""
    if circular.number is not None:
        return f"{circular.kind} {circular.number}/{circular.year}"
    if circular.date:
        return f"{circular.kind} {circular.date}"
    return f"{circular.kind} {circular.year}"


def classify_status(status: str) -> str:
    """Map the free-text status to a coarse category.

    Conservative on purpose: only an explicit cancellation counts as
    cancelled and only an explicit "in force"/"current" counts as in force;
    inferred or unverified replacements stay "unknown" (the full text is
    always shown next to it).
    """
    lowered = status.lower()
    if "dibatalkan" in lowered or "cancelled" in lowered:
        return STATUS_CANCELLED
    if lowered.startswith("in force") or "current" in lowered or "as in force" in lowered:
        return STATUS_IN_FORCE
    return STATUS_UNKNOWN


def load_circulars(path: Path = DEFAULT_CORPUS_PATH) -> tuple[Circular, ...]:
    """Read every circular from a tab-separated file with a header row."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if rows:
        missing = [name for name in REQUIRED_COLUMNS if name not in rows[0]]
        if missing:
            raise CorpusError(f"{path}: missing columns {', '.join(missing)}")
    return tuple(_row_to_circular(row, line) for line, row in enumerate(rows, start=2))


def _row_to_circular(row: dict[str, str], line: int) -> Circular:
    try:
        number = int(row["number"]) if row["number"].strip() else None
        year = int(row["year"])
    except (ValueError, AttributeError) as error:
        raise CorpusError(f"line {line}: bad number or year ({error})") from error
    return Circular(
        id=row["id"].strip(),
        kind=row["kind"].strip().upper(),
        number=number,
        year=year,
        date=row["date"].strip(),
        title_ms=row["title_ms"].strip(),
        subject_en=row["subject_en"].strip(),
        status=row["status"].strip(),
        source=row["source"].strip(),
        keywords=(row.get("keywords") or "").strip(),
    )
