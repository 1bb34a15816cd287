"""Each user's agency and which account holds which mailbox, in Synapse's own database.

The agency is recorded once, when the e-mail is bound at registration, so the
monthly report keeps counting people where they registered even if the agency
list changes later. `govchat_email_accounts` is GovChat's own record of which
account a mailbox belongs to: claimed (pending) when a registration with it
starts, bound when Synapse binds it. Its primary key on the address is what keeps
one mailbox to one account under concurrent registrations, and lifecycle
look-ups (external users' end dates, cancellations, the directory sync) read it
instead of Synapse's `user_threepids`, which users could once change themselves.
Kept in the database (not in memory) so every Synapse worker sees the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synapse.module_api import ModuleApi

from govchat.agencies import Agency

# One row per mailbox (table govchat_email_accounts, govchat/schema.py migration 4).
# state: 'pending' (a registration with it is under way; user_id is the requested
# user ID, or a random placeholder) or 'bound' (user_id holds it).
PENDING = "pending"
BOUND = "bound"


@dataclass(frozen=True)
class MailboxHolder:
    email: str
    user_id: str
    state: str
    updated_ts: int


@dataclass(frozen=True)
class UserAgency:
    user_id: str
    email: str
    agency: Agency
    recorded_ts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "agency": self.agency.as_dict(),
            "recorded_ts": self.recorded_ts,
        }


class UserAgencyStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def record(self, user_id: str, email: str, agency: Agency, now_ms: int) -> None:
        """Record the user's agency unless one is already recorded."""

        def insert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_user_agencies"
                " (user_id, email, agency_domain, agency_name, ministry, recorded_ts)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, email, agency.domain, agency.name, agency.ministry, now_ms),
            )

        await self._api.run_db_interaction("govchat_record_user_agency", insert)

    async def agency_of(self, user_id: str) -> Agency | None:
        """The agency the user registered under, or None (scripted and administrators' accounts)."""

        def select(txn: Any) -> tuple[Any, ...] | None:
            txn.execute("SELECT agency_domain, agency_name, ministry FROM govchat_user_agencies WHERE user_id = ?", (user_id,))
            row = txn.fetchone()
            return tuple(row) if row is not None else None

        row = await self._api.run_db_interaction("govchat_agency_of_user", select)
        return Agency(domain=row[0], name=row[1], ministry=row[2]) if row else None

    async def page(self, after_user_id: str, limit: int) -> list[UserAgency]:
        """Up to `limit` records ordered by user ID, starting after `after_user_id`."""

        def select(txn: Any) -> list[tuple[Any, ...]]:
            txn.execute(
                "SELECT user_id, email, agency_domain, agency_name, ministry, recorded_ts"
                " FROM govchat_user_agencies WHERE user_id > ? ORDER BY user_id LIMIT ?",
                (after_user_id, limit),
            )
            return list(txn.fetchall())

        rows = await self._api.run_db_interaction("govchat_list_user_agencies", select)
        return [
            UserAgency(
                user_id=row[0],
                email=row[1],
                agency=Agency(domain=row[2], name=row[3], ministry=row[4]),
                recorded_ts=int(row[5]),
            )
            for row in rows
        ]


class EmailAccountStore:
    """GovChat's record of which account holds which official mailbox."""

    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def holder(self, email: str) -> MailboxHolder | None:

        def select(txn: Any) -> tuple[Any, ...] | None:
            txn.execute("SELECT email, user_id, state, updated_ts FROM govchat_email_accounts WHERE email = ?", (email,))
            row = txn.fetchone()
            return tuple(row) if row is not None else None

        row = await self._api.run_db_interaction("govchat_mailbox_holder", select)
        return MailboxHolder(row[0], row[1], row[2], int(row[3])) if row else None

    async def claim(self, email: str, user_id: str, now_ms: int, replacing: MailboxHolder | None) -> bool:
        """Claim the mailbox for a registration; True only if the row is still what the caller saw.

        An INSERT when there was no row, otherwise a conditional UPDATE of exactly the row
        the caller decided about: of two registrations racing, one wins on every database.
        """

        def write(txn: Any) -> bool:
            if replacing is None:
                txn.execute(
                    "INSERT INTO govchat_email_accounts (email, user_id, state, updated_ts) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (email) DO NOTHING",
                    (email, user_id, PENDING, now_ms),
                )
            else:
                txn.execute(
                    "UPDATE govchat_email_accounts SET user_id = ?, state = ?, updated_ts = ?"
                    " WHERE email = ? AND user_id = ? AND state = ? AND updated_ts = ?",
                    (user_id, PENDING, now_ms, email, replacing.user_id, replacing.state, replacing.updated_ts),
                )
            return bool(txn.rowcount == 1)

        return bool(await self._api.run_db_interaction("govchat_claim_mailbox", write))

    async def bind(self, email: str, user_id: str, now_ms: int) -> None:
        """Synapse bound the address to the account (registration, or an administrator)."""

        def upsert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_email_accounts (email, user_id, state, updated_ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (email) DO UPDATE SET user_id = excluded.user_id, state = excluded.state,"
                " updated_ts = excluded.updated_ts",
                (email, user_id, BOUND, now_ms),
            )

        await self._api.run_db_interaction("govchat_bind_mailbox", upsert)

    async def account_for_email(self, email: str) -> str | None:
        """The account the mailbox is bound to (it may since have been deactivated), or None."""
        holder = await self.holder(email.lower())
        return holder.user_id if holder is not None and holder.state == BOUND else None

    async def emails_of_account(self, user_id: str) -> list[str]:

        def select(txn: Any) -> list[str]:
            txn.execute(
                "SELECT email FROM govchat_email_accounts WHERE user_id = ? AND state = ? ORDER BY email", (user_id, BOUND)
            )
            return [str(row[0]) for row in txn.fetchall()]

        return list(await self._api.run_db_interaction("govchat_mailbox_emails_of_account", select))

    async def bound_accounts(self) -> list[tuple[str, str]]:
        """(user ID, e-mail) of every bound mailbox, ordered by user ID."""

        def select(txn: Any) -> list[tuple[str, str]]:
            txn.execute("SELECT user_id, email FROM govchat_email_accounts WHERE state = ? ORDER BY user_id", (BOUND,))
            return [(str(row[0]), str(row[1])) for row in txn.fetchall()]

        return list(await self._api.run_db_interaction("govchat_bound_mailboxes", select))
