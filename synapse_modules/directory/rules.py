"""What the staff directory decides, as plain functions of plain values (no Synapse, no LDAP).

- Registration: an address in a domain with a directory needs an active entry;
  a directory that cannot be asked refuses (fails closed) with "try again later".
- Display name: the directory's name (the name on the identity card, R2.2); where
  locked, the user may not set another, globally or in a room.
- Sync: an account whose entry is gone or disabled is deactivated (R1.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NO_ACTIVE_ENTRY = (
    "Alamat e-mel ini tiada dalam direktori kakitangan agensi yang aktif; hubungi pentadbir agensi anda. / "
    "This e-mail address has no active entry in the agency's staff directory; contact your agency's administrator."
)
DIRECTORY_UNAVAILABLE = (
    "Direktori kakitangan agensi tidak dapat dihubungi buat masa ini; sila cuba lagi sebentar lagi. / "
    "The agency's staff directory cannot be reached right now; please try again later."
)
NAME_LOCKED = (
    "Nama paparan anda ialah nama dalam direktori kakitangan agensi (nama pada kad pengenalan) dan tidak boleh diubah; "
    "hubungi pentadbir agensi anda untuk membetulkannya. / "
    "Your display name is the name in the agency's staff directory (the name on your identity card) and cannot be "
    "changed; contact your agency's administrator to correct it."
)


@dataclass(frozen=True)
class DirectoryEntry:
    """One person's entry, as the directory holds it."""

    mail: str
    name: str | None
    active: bool


class DirectoryUnavailable(Exception):
    """The directory could not be asked (down, timed out, bind refused); never means "no entry"."""


class SyncReason(str, Enum):
    NO_ENTRY = "no_entry"
    DISABLED = "disabled"


def registration_refusal(entry: DirectoryEntry | None) -> str | None:
    """Why an address the e-mail rule accepted may not register, given its directory entry."""
    if entry is None or not entry.active:
        return NO_ACTIVE_ENTRY
    return None


def display_name_from(entry: DirectoryEntry | None) -> str | None:
    if entry is None or entry.name is None:
        return None
    name = " ".join(entry.name.split())
    return name or None


def name_or_empty(name: object) -> str:
    """A display name as the lock records it; "" locks to no name a person could set."""
    return " ".join(name.split()) if isinstance(name, str) else ""


def name_change_refusal(locked_name: str | None, new_name: object) -> str | None:
    """A locked user may only ever set the directory's name (e.g. Element re-sending it)."""
    if locked_name is None:
        return None
    if isinstance(new_name, str) and " ".join(new_name.split()) == locked_name:
        return None
    return NAME_LOCKED


def member_event_refusal(sender: str, state_key: str | None, membership: object, displayname: object, locked_name: str | None) -> str | None:
    """A user's own membership event (join, leave, knock: any of them shows a per-room name)
    must carry the directory's name, or none."""
    if locked_name is None or state_key != sender or displayname is None:
        return None
    return name_change_refusal(locked_name, displayname)


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str


@dataclass(frozen=True)
class SyncDecision:
    user_id: str
    email: str
    reason: SyncReason

    def as_dict(self) -> dict[str, str]:
        return {"user_id": self.user_id, "email": self.email, "reason": self.reason.value}


def accounts_to_deactivate(accounts: list[Account], entries: dict[str, DirectoryEntry]) -> list[SyncDecision]:
    """Accounts whose entry (keyed by lower-case mail) is gone or disabled, in user ID order."""
    decisions = []
    for account in sorted(accounts, key=lambda account: account.user_id):
        entry = entries.get(account.email.lower())
        if entry is None:
            decisions.append(SyncDecision(account.user_id, account.email, SyncReason.NO_ENTRY))
        elif not entry.active:
            decisions.append(SyncDecision(account.user_id, account.email, SyncReason.DISABLED))
    return decisions
