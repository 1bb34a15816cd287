"""Who is told what about an application: plain functions of plain values, nothing here knows Synapse.

- An application is submitted: the heads of department of its agency (never the applicant), by server notice.
- It is rejected or carried out: the applicant, by server notice, and by e-mail when the form names a mailbox.
- An A4 permission is about to end: the external user's active account, by e-mail and server notice.

The service turns an `Audience` into outbox rows (see common/outbox.py), queued with the step that owes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Audience:
    """Who is told one message: by e-mail to `mails`, by server notice to `notices`."""

    mails: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()


def about_new_application(agency_domain: str, applicant: str, heads: Iterable[tuple[str, str]]) -> Audience:
    """The heads of department of the application's agency, from (agency domain, head) pairs; a head
    who applied is not asked to endorse their own application."""
    told = {head for domain, head in heads if domain == agency_domain} - {applicant}
    return Audience(notices=tuple(sorted(told)))


def about_outcome(applicant: str, applicant_email: str) -> Audience:
    """The applicant; by e-mail too unless the form has no mailbox (a cancellation started from a content report)."""
    return Audience(mails=(applicant_email,) if applicant_email else (), notices=(applicant,))


def about_permission_ending(email: str, account: str) -> Audience:
    """An external user whose permission ends soon, at the address they were permitted and on their account."""
    return Audience(mails=(email,), notices=(account,))
