"""What an administrator may send to the circulars library, as plain functions of plain values.

Each check fails with ``InvalidRequest`` naming the field and saying what is
wrong in Malay and English; nothing is written until every check has passed.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace
from typing import Any

from bots.pkpa_bot.search.corpus import STATUS_CODES, Circular
from bots.pkpa_bot.search.documents import DocumentError, Passage, read_document, split_sections
from synapse_modules.common.refusals import InvalidRequest

CIRCULAR_ID = re.compile(r"^[A-Z]{2,6}(?:-[0-9]{1,4}){1,3}$")
NUMBERED_ID = re.compile(r"^([A-Z]{2,6})-([0-9]{1,3})-((?:19|20)[0-9]{2})$")
DATE = re.compile(r"^(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]$")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_TEXT_FIELD = 500
STATUS_ALIASES = {"in-force": "in_force", "in force": "in_force", "berkuat kuasa": "in_force", "dibatalkan": "cancelled", "dipinda": "amended"}
FORMATS = ("pdf", "text")


@dataclass(frozen=True)
class ImportPlan:
    circular: Circular
    passages: tuple[Passage, ...]


def parse_circular_id(raw: Any) -> str:
    if not isinstance(raw, str) or not CIRCULAR_ID.match(raw.strip().upper()):
        raise InvalidRequest(
            "circular_id",
            "Pengenal pekeliling mesti seperti PKPA-1-2021 atau SAKP-2007-06-01. / "
            "A circular id looks like PKPA-1-2021 or SAKP-2007-06-01.",
        )
    return raw.strip().upper()


def parse_status(raw: Any) -> str:
    value = raw.strip().lower() if isinstance(raw, str) else ""
    value = STATUS_ALIASES.get(value, value)
    if value not in STATUS_CODES:
        raise InvalidRequest(
            "status",
            f"Status mesti salah satu daripada: {', '.join(STATUS_CODES)}. / Status must be one of: {', '.join(STATUS_CODES)}.",
        )
    return value


def parse_status_change(body: Any, circular_id: str, known_ids: set[str]) -> tuple[str, str]:
    """(status code, superseded_by id or "") from {"status", "superseded_by"?}."""
    if not isinstance(body, dict):
        raise InvalidRequest("body", "Kandungan mesti objek JSON. / The body must be a JSON object.")
    status = parse_status(body.get("status"))
    superseded_by = body.get("superseded_by") or ""
    if superseded_by:
        superseded_by = parse_circular_id(superseded_by) if isinstance(superseded_by, str) else parse_circular_id(None)
        if superseded_by == circular_id or superseded_by not in known_ids:
            raise InvalidRequest(
                "superseded_by",
                f"Pekeliling pengganti {superseded_by} tiada dalam perpustakaan. / The replacing circular {superseded_by} is not in the library.",
            )
    return status, superseded_by


def parse_import(circular_id: str, body: Any, existing: Circular | None, known_ids: set[str]) -> ImportPlan:
    """Read and split the document, and settle the circular's metadata, before anything is written."""
    if not isinstance(body, dict):
        raise InvalidRequest("body", "Kandungan mesti objek JSON. / The body must be a JSON object.")
    kind = body.get("format")
    if kind not in FORMATS:
        raise InvalidRequest("format", "Format mesti 'pdf' atau 'text'. / The format must be 'pdf' or 'text'.")
    content = _decode_content(body.get("content_base64"))
    try:
        text = read_document(content, kind)
    except DocumentError as error:
        raise InvalidRequest("content_base64", str(error)) from None
    passages = split_sections(circular_id, text)
    if not passages:
        raise InvalidRequest("content_base64", "Dokumen ini tiada teks. / The document holds no text.")
    circular = _metadata(circular_id, body, existing)
    if circular.superseded_by and circular.superseded_by not in known_ids | {circular_id}:
        raise InvalidRequest(
            "superseded_by",
            f"Pekeliling pengganti {circular.superseded_by} tiada dalam perpustakaan. / The replacing circular {circular.superseded_by} is not in the library.",
        )
    return ImportPlan(circular, passages)


def _decode_content(raw: Any) -> bytes:
    if not isinstance(raw, str) or not raw:
        raise InvalidRequest("content_base64", "Kandungan dokumen (base64) diperlukan. / The document's content (base64) is required.")
    if len(raw) > MAX_DOCUMENT_BYTES * 4 // 3 + 4:
        raise InvalidRequest("content_base64", "Dokumen melebihi 20 MB. / The document is larger than 20 MB.")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("content_base64", "Kandungan dokumen bukan base64 yang sah. / The document's content is not valid base64.") from None


def _metadata(circular_id: str, body: dict[str, Any], existing: Circular | None) -> Circular:
    numbered = NUMBERED_ID.match(circular_id)
    base = existing or Circular(
        id=circular_id,
        kind=numbered.group(1) if numbered else circular_id.split("-")[0],
        number=int(numbered.group(2)) if numbered else None,
        year=int(numbered.group(3)) if numbered else int(circular_id.split("-")[1]),
        date="",
        title_ms="",
        subject_en="",
        status="",
        source="",
        status_code="in_force",
    )
    changes: dict[str, Any] = {}
    for field in ("title_ms", "subject_en", "source"):
        if field in body:
            changes[field] = _text(body[field], field)
    if "date" in body:
        date = _text(body["date"], "date")
        if date and not DATE.match(date):
            raise InvalidRequest("date", "Tarikh mesti YYYY-MM-DD. / The date must be YYYY-MM-DD.")
        changes["date"] = date
    if "status" in body:
        changes["status_code"] = parse_status(body["status"])
    if "superseded_by" in body and body["superseded_by"]:
        changes["superseded_by"] = parse_circular_id(body["superseded_by"])
    if "public" in body:
        if not isinstance(body["public"], bool):
            raise InvalidRequest("public", "Nilai public mesti true atau false. / public must be true or false.")
        changes["public"] = body["public"]
    circular = replace(base, **changes)
    if not circular.title_ms:
        raise InvalidRequest("title_ms", "Tajuk (title_ms) diperlukan bagi pekeliling baharu. / A title (title_ms) is required for a new circular.")
    return circular


def _text(raw: Any, field: str) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_TEXT_FIELD:
        raise InvalidRequest(field, f"{field} mesti teks hingga {MAX_TEXT_FIELD} aksara. / {field} must be text of at most {MAX_TEXT_FIELD} characters.")
    return " ".join(raw.split())
