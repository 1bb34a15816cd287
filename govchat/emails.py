"""Which e-mail addresses may register, and in what normal form (R1.1).

The rule is deliberately narrower than RFC 5322: official government mailboxes
are plain ASCII `name@agency.gov.my` addresses, so anything exotic (quoted local
parts, IP literals, IDN or Unicode lookalikes, sub-addressing) is refused with a
reason rather than interpreted. Upper case is the one variation we normalise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from govchat.agencies import Agency, agency_for_domain

# RFC 5321 limits: 64 octets of local part, 254 for the whole forward path.
MAX_LOCAL_PART_LENGTH = 64
MAX_ADDRESS_LENGTH = 254
MAX_LABEL_LENGTH = 63

_LOCAL_PART = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class Refusal(Enum):
    """Why an address may not register, with the sentence shown to the user."""

    NOT_TEXT = (
        "Alamat e-mel mesti diberi sebagai teks.",
        "The e-mail address must be given as text.",
    )
    TOO_LONG = (
        "Alamat e-mel ini terlalu panjang.",
        "This e-mail address is too long.",
    )
    SPACE_OR_CONTROL = (
        "Alamat e-mel tidak boleh mengandungi ruang kosong atau aksara kawalan.",
        "An e-mail address may not contain spaces or control characters.",
    )
    NON_ASCII = (
        "Alamat e-mel mesti ditulis dengan huruf Latin biasa sahaja (tiada aksara Unicode).",
        "The e-mail address must use plain Latin letters only (no Unicode characters).",
    )
    MALFORMED = (
        "Alamat e-mel ini tidak sah; gunakan bentuk nama@agensi.gov.my.",
        "This e-mail address is not valid; use the form name@agency.gov.my.",
    )
    SUB_ADDRESS = (
        "Alamat e-mel dengan tanda + tidak diterima; gunakan alamat peti mel rasmi anda.",
        "Addresses with a + tag are not accepted; use your official mailbox address.",
    )
    IP_LITERAL = (
        "Alamat e-mel mesti menggunakan nama domain agensi, bukan alamat IP.",
        "The e-mail address must use an agency domain name, not an IP address.",
    )
    NOT_GOVERNMENT = (
        "Hanya alamat e-mel rasmi kerajaan (domain agensi yang berdaftar) boleh mendaftar.",
        "Only official government e-mail addresses (a registered agency domain) may register.",
    )

    @property
    def message(self) -> str:
        malay, english = self.value
        return f"{malay} / {english}"


@dataclass(frozen=True)
class Accepted:
    address: str
    agency: Agency


def check_registration_email(
    address: object, agencies: Iterable[Agency]
) -> Accepted | Refusal:
    """Accept `address` with its normal form and agency, or say why not."""
    if not isinstance(address, str):
        return Refusal.NOT_TEXT
    shape_refusal = _refusal_for_shape(address)
    if shape_refusal is not None:
        return shape_refusal
    normal = address.lower()
    local_part, domain = normal.split("@")
    local_refusal = _refusal_for_local_part(local_part)
    if local_refusal is not None:
        return local_refusal
    domain_refusal = _refusal_for_domain(domain)
    if domain_refusal is not None:
        return domain_refusal
    agency = agency_for_domain(domain, agencies)
    if agency is None:
        return Refusal.NOT_GOVERNMENT
    return Accepted(address=normal, agency=agency)


def _refusal_for_shape(address: str) -> Refusal | None:
    if len(address) > MAX_ADDRESS_LENGTH:
        return Refusal.TOO_LONG
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in address):
        return Refusal.SPACE_OR_CONTROL
    if not address.isascii():
        return Refusal.NON_ASCII
    if address.count("@") != 1:
        return Refusal.MALFORMED
    return None


def _refusal_for_local_part(local_part: str) -> Refusal | None:
    if len(local_part) > MAX_LOCAL_PART_LENGTH:
        return Refusal.TOO_LONG
    if "+" in local_part:
        # One mailbox, one account: tags would let one person register many.
        return Refusal.SUB_ADDRESS
    if not _LOCAL_PART.fullmatch(local_part):
        return Refusal.MALFORMED
    return None


def _refusal_for_domain(domain: str) -> Refusal | None:
    if domain.startswith("["):
        return Refusal.IP_LITERAL
    labels = domain.split(".")
    if len(labels) < 2:
        return Refusal.MALFORMED
    if all(label.isdigit() for label in labels):
        return Refusal.IP_LITERAL
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH or not _DOMAIN_LABEL.fullmatch(label):
            return Refusal.MALFORMED
        if label.startswith("xn--"):
            # Punycode is how IDN lookalikes of gov.my travel in ASCII.
            return Refusal.NON_ASCII
    if labels[-1].isdigit():
        return Refusal.MALFORMED
    return None
