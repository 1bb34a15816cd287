"""One mailbox, one account: who may claim an official e-mail for a new registration."""

from __future__ import annotations

from synapse_modules.govchat_auth.mailbox import PENDING_CLAIM_MS, claimant, may_claim
from synapse_modules.govchat_auth.store import BOUND, PENDING, MailboxHolder

NOW = 1_800_000_000_000


def test_free_mailbox_and_a_deactivated_accounts_mailbox_may_be_claimed() -> None:
    assert may_claim(None, "@baru:x", holder_is_active_account=False, now_ms=NOW)
    assert may_claim(MailboxHolder("a@mampu.gov.my", "@lama:x", BOUND, NOW), "@baru:x", holder_is_active_account=False, now_ms=NOW)


def test_active_account_or_a_fresh_registration_keeps_the_mailbox() -> None:
    assert not may_claim(MailboxHolder("a@mampu.gov.my", "@ada:x", BOUND, NOW), "@baru:x", holder_is_active_account=True, now_ms=NOW)
    pending = MailboxHolder("a@mampu.gov.my", "@lain:x", PENDING, NOW - 1000)
    assert not may_claim(pending, "@baru:x", holder_is_active_account=False, now_ms=NOW)
    # The same registration retried, or a claim left behind by one that never finished.
    assert may_claim(pending, "@lain:x", holder_is_active_account=False, now_ms=NOW)
    assert may_claim(pending, "@baru:x", holder_is_active_account=False, now_ms=NOW + PENDING_CLAIM_MS)


def test_registrations_without_a_username_never_share_a_claimant() -> None:
    assert claimant(None) != claimant(None)
    assert claimant("@siti:x") == "@siti:x"
