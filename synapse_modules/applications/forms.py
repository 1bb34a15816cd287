"""What each application form must hold (A4, A5, A6), checked in full before anything is saved.

Plain functions of plain values: the HTTP API and the web pages both turn their
input into the same JSON-like mapping and call `parse_submission`, which either
returns a complete `Submission` or raises `InvalidField` naming the first wrong
field (`applicant.phone`, `details.users[2].email`, ...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from govchat.agencies import Agency
from govchat.emails import Accepted, Refusal, check_registration_email
from govchat.malaysia_time import MALAYSIA_TIME

EXTERNAL_USERS = "external_users"  # A4
ACCOUNT_CANCELLATION = "account_cancellation"  # A5
PUBLIC_CHANNEL = "public_channel"  # A6
KINDS = (EXTERNAL_USERS, ACCOUNT_CANCELLATION, PUBLIC_CHANNEL)
FORM_NAMES = {EXTERNAL_USERS: "A4", ACCOUNT_CANCELLATION: "A5", PUBLIC_CHANNEL: "A6"}

MAX_TEXT = 200
MAX_LONG_TEXT = 2000
MAX_USERS = 50
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,24}")
_USER_ID = re.compile(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.:-]+")
_LOCALPART = re.compile(r"[a-z0-9._=/+-]+")
_ALIAS_LOCALPART = re.compile(r"[a-z0-9][a-z0-9._=-]{0,63}")

# Field labels, in Malay and English, for the sentences below and the web forms.
LABELS: dict[str, tuple[str, str]] = {
    "kind": ("jenis permohonan", "kind of application"),
    "name": ("nama", "name"),
    "organisation": ("organisasi", "organisation"),
    "division": ("bahagian", "division"),
    "address": ("alamat", "address"),
    "position": ("jawatan/gred", "position/grade"),
    "phone": ("no. telefon", "phone"),
    "email": ("e-mel", "e-mail"),
    "purpose": ("tujuan", "purpose"),
    "users": ("senarai pengguna", "list of users"),
    "end_date": ("tarikh tamat kebenaran", "end date of permission"),
    "account": ("akaun", "account"),
    "account_email": ("e-mel akaun", "account's e-mail"),
    "reason": ("sebab", "reason"),
    "effective_date": ("tarikh berkuat kuasa", "effective date"),
    "channel_name": ("nama saluran", "channel name"),
    "channel_alias": ("alias saluran", "channel alias"),
    "owner_name": ("nama pemilik", "owner's name"),
    "owner_email": ("e-mel pemilik", "owner's e-mail"),
    "note": ("catatan", "note"),
    "report": ("laporan kandungan", "content report"),
}
APPLICANT_FIELDS = ("name", "organisation", "division", "address", "position", "phone", "email")
EXTERNAL_USER_FIELDS = ("name", "organisation", "position", "email")


class InvalidField(Exception):
    """A field is missing (`missing`) or malformed; `message` is one bilingual sentence naming it."""

    def __init__(self, field: str, malay: str, english: str, missing: bool = False) -> None:
        super().__init__(f"{malay} / {english}")
        self.field = field
        self.message = f"{malay} / {english}"
        self.missing = missing


@dataclass(frozen=True)
class Submission:
    kind: str
    applicant: dict[str, str]
    details: dict[str, Any]
    # A4: the permission's end; A5: when the account is cancelled (ms since the epoch).
    due_ts: int | None = None

    def external_emails(self) -> list[str]:
        return [user["email"] for user in self.details.get("users", [])]


def parse_submission(body: Any, agencies: Iterable[Agency], server_name: str, now_ms: int) -> Submission:
    agencies = tuple(agencies)
    if not isinstance(body, dict):
        raise InvalidField("body", "Kandungan permintaan mesti objek JSON.", "The request body must be a JSON object.")
    kind = body.get("kind")
    if kind is None:
        raise _missing("kind", "kind")
    if kind not in KINDS:
        raise InvalidField(
            "kind",
            f"Medan kind mesti salah satu daripada {', '.join(KINDS)}.",
            f"The kind field must be one of {', '.join(KINDS)}.",
        )
    applicant_raw = body.get("applicant")
    if not isinstance(applicant_raw, dict):
        raise _missing("applicant", "name") if applicant_raw is None else _not_object("applicant")
    applicant = {key: _text(applicant_raw, key, f"applicant.{key}") for key in APPLICANT_FIELDS}
    applicant["phone"] = _phone(applicant["phone"], "applicant.phone")
    applicant["email"] = _official_email(applicant["email"], "applicant.email", agencies)
    details_raw = body.get("details")
    if not isinstance(details_raw, dict):
        raise _missing("details", "details") if details_raw is None else _not_object("details")
    if kind == EXTERNAL_USERS:
        return _external_users(applicant, details_raw, agencies, now_ms)
    if kind == ACCOUNT_CANCELLATION:
        return _account_cancellation(applicant, details_raw, agencies, server_name, now_ms)
    return _public_channel(applicant, details_raw, agencies)


def _external_users(applicant: dict[str, str], raw: dict[str, Any], agencies: tuple[Agency, ...], now_ms: int) -> Submission:
    purpose = _text(raw, "purpose", "details.purpose", MAX_LONG_TEXT)
    users_raw = raw.get("users")
    if users_raw is None or users_raw == []:
        raise _missing("details.users", "users")
    if not isinstance(users_raw, list) or len(users_raw) > MAX_USERS:
        raise InvalidField(
            "details.users",
            f"Medan details.users mesti senarai 1 hingga {MAX_USERS} pengguna.",
            f"The details.users field must be a list of 1 to {MAX_USERS} users.",
        )
    users = []
    seen: set[str] = set()
    for index, entry in enumerate(users_raw):
        prefix = f"details.users[{index}]"
        if not isinstance(entry, dict):
            raise _not_object(prefix)
        user = {key: _text(entry, key, f"{prefix}.{key}") for key in EXTERNAL_USER_FIELDS}
        user["email"] = _external_email(user["email"], f"{prefix}.email", agencies)
        if user["email"] in seen:
            raise InvalidField(
                f"{prefix}.email",
                f"Medan {prefix}.email: {user['email']} disenaraikan dua kali.",
                f"The {prefix}.email field: {user['email']} is listed twice.",
            )
        seen.add(user["email"])
        users.append(user)
    end_ts = parse_moment(raw.get("end_date"), "details.end_date", end_of_day=True)
    if end_ts <= now_ms:
        raise InvalidField(
            "details.end_date",
            "Medan details.end_date mesti pada masa hadapan.",
            "The details.end_date field must be in the future.",
        )
    details = {"purpose": purpose, "users": users, "end_date": str(raw["end_date"]).strip()}
    return Submission(EXTERNAL_USERS, applicant, details, due_ts=end_ts)


def _account_cancellation(
    applicant: dict[str, str], raw: dict[str, Any], agencies: tuple[Agency, ...], server_name: str, now_ms: int
) -> Submission:
    account = _text(raw, "account", "details.account")
    if _LOCALPART.fullmatch(account):
        account = f"@{account}:{server_name}"
    if not _USER_ID.fullmatch(account) or not account.endswith(f":{server_name}"):
        raise InvalidField(
            "details.account",
            f"Medan details.account mesti ID pengguna pelayan ini (@nama:{server_name}).",
            f"The details.account field must be a user ID on this server (@name:{server_name}).",
        )
    account_email = _text(raw, "account_email", "details.account_email").lower()
    # Any well-formed address: the account may be an external user's (A4).
    if check_registration_email(account_email, ()) is not Refusal.NOT_GOVERNMENT:
        raise _malformed_email("details.account_email")
    reason = _text(raw, "reason", "details.reason", MAX_LONG_TEXT)
    effective_ts = parse_moment(raw.get("effective_date"), "details.effective_date", end_of_day=False)
    details = {
        "account": account,
        "account_email": account_email,
        "reason": reason,
        "effective_date": str(raw["effective_date"]).strip(),
    }
    return Submission(ACCOUNT_CANCELLATION, applicant, details, due_ts=effective_ts)


def _public_channel(applicant: dict[str, str], raw: dict[str, Any], agencies: tuple[Agency, ...]) -> Submission:
    channel_name = _text(raw, "channel_name", "details.channel_name", 100)
    alias = raw.get("channel_alias") or ""
    if not isinstance(alias, str) or (alias.strip() and not _ALIAS_LOCALPART.fullmatch(alias.strip())):
        raise InvalidField(
            "details.channel_alias",
            "Medan details.channel_alias mesti kosong atau seperti pengumuman-jpa (huruf kecil, angka, . _ = -).",
            "The details.channel_alias field must be empty or look like pengumuman-jpa (lower-case letters, digits, . _ = -).",
        )
    details = {
        "channel_name": channel_name,
        "channel_alias": alias.strip() or alias_from_name(channel_name),
        "owner_name": _text(raw, "owner_name", "details.owner_name"),
        "owner_email": _official_email(_text(raw, "owner_email", "details.owner_email"), "details.owner_email", agencies),
    }
    return Submission(PUBLIC_CHANNEL, applicant, details)


def alias_from_name(name: str) -> str:
    """`Pengumuman JPA 2026` -> `pengumuman-jpa-2026`."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    return slug or "saluran"


def parse_moment(raw: Any, field: str, end_of_day: bool) -> int:
    """A date (YYYY-MM-DD, Malaysian time) or an ISO 8601 date and time with its offset, in ms.

    A bare date means its start, or with `end_of_day` the midnight after it.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise _missing(field, field.rsplit(".", 1)[-1])
    problem = InvalidField(
        field,
        f"Medan {field} mesti tarikh seperti 2026-06-30 (atau 2026-06-30T17:00:00+08:00).",
        f"The {field} field must be a date such as 2026-06-30 (or 2026-06-30T17:00:00+08:00).",
    )
    if not isinstance(raw, str):
        raise problem
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            # A Malaysian date: a permission ending on 2026-06-30 ends at midnight after that day in Kuala Lumpur.
            moment = datetime.combine(day, time(0), MALAYSIA_TIME) + (timedelta(days=1) if end_of_day else timedelta(0))
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise problem
    except ValueError:
        raise problem from None
    return int(moment.timestamp() * 1000)


def parse_note(body: Any, required: bool) -> str:
    note = body.get("note", "") if isinstance(body, dict) else ""
    if not isinstance(note, str) or len(note) > MAX_LONG_TEXT or has_forbidden_characters(note, multiline=True):
        raise InvalidField("note", f"Medan note mesti teks hingga {MAX_LONG_TEXT} aksara.", f"The note field must be text of at most {MAX_LONG_TEXT} characters.")
    if required and not note.strip():
        raise _missing("note", "note")
    return note.strip()


def has_forbidden_characters(value: str, multiline: bool) -> bool:
    """Control, format (bidi overrides, zero-width) and line/paragraph-separator characters.

    One-line fields go verbatim into notices and mails from GovChat's own accounts: a line
    break there would let an applicant write a paragraph of their own (a fake "NOTIS
    KESELAMATAN" with a link) into what a head of department receives. Multi-line fields
    (purpose, reason, notes) keep line breaks and tabs only.
    """
    for char in value:
        if multiline and char in "\n\r\t":
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return True
    return False


def _text(raw: dict[str, Any], key: str, field: str, limit: int = MAX_TEXT) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _missing(field, key)
    multiline = limit > MAX_TEXT
    if not isinstance(value, str) or len(value.strip()) > limit or has_forbidden_characters(value, multiline):
        malay, english = LABELS.get(key, (key, key))
        if multiline:
            raise InvalidField(
                field,
                f"Medan {field} ({malay}) mesti teks hingga {limit} aksara, tanpa aksara kawalan.",
                f"The {field} field ({english}) must be text of at most {limit} characters, without control characters.",
            )
        raise InvalidField(
            field,
            f"Medan {field} ({malay}) mesti satu baris teks hingga {limit} aksara, tanpa baris baharu atau aksara kawalan.",
            f"The {field} field ({english}) must be one line of text of at most {limit} characters, without line breaks or control characters.",
        )
    return value.strip()


def _phone(value: str, field: str) -> str:
    if not _PHONE.fullmatch(value):
        raise InvalidField(field, f"Medan {field} bukan nombor telefon yang sah.", f"The {field} field is not a valid phone number.")
    return value


def _official_email(value: str, field: str, agencies: tuple[Agency, ...]) -> str:
    verdict = check_registration_email(value, agencies)
    if isinstance(verdict, Accepted):
        return verdict.address
    if verdict is Refusal.NOT_GOVERNMENT:
        raise InvalidField(
            field,
            f"Medan {field} mesti alamat e-mel rasmi kerajaan.",
            f"The {field} field must be an official government e-mail address.",
        )
    raise _malformed_email(field)


def _external_email(value: str, field: str, agencies: tuple[Agency, ...]) -> str:
    verdict = check_registration_email(value, agencies)
    if isinstance(verdict, Accepted):
        raise InvalidField(
            field,
            f"Medan {field}: {verdict.address} ialah alamat kerajaan yang boleh mendaftar sendiri; borang A4 untuk pengguna luar sahaja.",
            f"The {field} field: {verdict.address} is a government address that may register on its own; form A4 is for external users only.",
        )
    if verdict is not Refusal.NOT_GOVERNMENT:
        raise _malformed_email(field)
    return value.lower()


def _malformed_email(field: str) -> InvalidField:
    return InvalidField(field, f"Medan {field} bukan alamat e-mel yang sah.", f"The {field} field is not a valid e-mail address.")


def _missing(field: str, key: str) -> InvalidField:
    malay, english = LABELS.get(key, (key, key))
    return InvalidField(field, f"Medan {field} ({malay}) wajib diisi.", f"The {field} field ({english}) is required.", missing=True)


def _not_object(field: str) -> InvalidField:
    return InvalidField(field, f"Medan {field} mesti objek JSON.", f"The {field} field must be a JSON object.")
