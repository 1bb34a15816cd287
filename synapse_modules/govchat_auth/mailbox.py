"""One mailbox, one account (R1.2): who may claim an official e-mail for a new account.

Plain functions of plain values; the adapter (`module.py`) reads the current holder
from `govchat_email_accounts`, asks `may_claim`, then claims with a conditional write.
"""

from __future__ import annotations

import uuid

from synapse_modules.govchat_auth.store import BOUND, PENDING, MailboxHolder

# A registration that claimed a mailbox but never created its account (it failed
# between Synapse's checks and the account's creation) blocks the mailbox this long.
PENDING_CLAIM_MS = 120_000

MAILBOX_IN_USE = (
    "Alamat e-mel ini sudah digunakan oleh akaun lain, atau pendaftaran dengannya sedang berjalan; "
    "satu alamat, satu akaun. / "
    "This e-mail address is already used by another account, or a registration with it is under way; "
    "one address, one account."
)
MAY_NOT_CHANGE_EMAIL = (
    "E-mel rasmi akaun anda tidak boleh dibuang, ditukar atau ditambah; hubungi pentadbir GovChat. / "
    "Your account's official e-mail cannot be removed, replaced or added to; contact a GovChat administrator."
)


def claimant(requested_user_id: str | None) -> str:
    """Who a pending claim names: the requested user ID, or a placeholder no other request shares."""
    return requested_user_id or f"?{uuid.uuid4().hex}"


def may_claim(holder: MailboxHolder | None, claimant_user_id: str, holder_is_active_account: bool, now_ms: int) -> bool:
    """May a new registration take this mailbox?

    Free mailboxes, and mailboxes of deactivated accounts (R1.4: the address may register
    again), may be claimed; one held by an active account, or claimed by another registration
    in the last PENDING_CLAIM_MS, may not.
    """
    if holder is None:
        return True
    if holder_is_active_account:
        return False
    if holder.state == BOUND:
        return True
    if holder.state == PENDING and holder.user_id == claimant_user_id:
        return True  # the same registration, retried
    return now_ms - holder.updated_ts > PENDING_CLAIM_MS
