"""Who may see an application and who may move it on: the workflow's one rule table.

| Action     | Who                                         | From state           | To state     |
| ---------- | ------------------------------------------- | -------------------- | ------------ |
| submit     | any signed-in officer with an official      | -                    | submitted    |
|            | e-mail (their agency is the application's)  |                      |              |
| endorse    | a head of the application's agency          | submitted            | endorsed     |
| reject     | a head of the agency (before endorsement)   | submitted            | rejected     |
|            | or a server administrator, with a note      | submitted, endorsed  | rejected     |
| approve    | a server administrator                      | endorsed             | approved     |
| carry_out  | GovChat (at approval; A5 on its date) or an | approved             | carried_out  |
|            | administrator retrying a failed attempt     |                      |              |

Nobody acts on their own application (no self-endorsement or self-approval).
An application is visible only to its applicant, the heads of its agency and server
administrators; to everyone else it does not exist (404, never 403, so that IDs
cannot be probed). Someone who may see it but not do the action gets 403; an
action in the wrong state gets 409.

Plain functions of plain values: nothing here knows Synapse.
"""

from __future__ import annotations

from dataclasses import dataclass

from synapse_modules.common.refusals import FORBIDDEN, WRONG_STATE, Refusal

SUBMITTED = "submitted"
ENDORSED = "endorsed"
APPROVED = "approved"
REJECTED = "rejected"
CARRIED_OUT = "carried_out"
STATES = (SUBMITTED, ENDORSED, APPROVED, REJECTED, CARRIED_OUT)
WAITING_STATES = (SUBMITTED, ENDORSED)

ENDORSE = "endorse"
APPROVE = "approve"
REJECT = "reject"
CARRY_OUT = "carry_out"
ACTIONS = (ENDORSE, APPROVE, REJECT, CARRY_OUT)
NEXT_STATE = {ENDORSE: ENDORSED, APPROVE: APPROVED, REJECT: REJECTED, CARRY_OUT: CARRIED_OUT}

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Viewer:
    user_id: str
    is_admin: bool
    # Agency domains this user is a designated head of.
    head_of: frozenset[str] = frozenset()


ONLY_HEAD = Refusal(
    403, FORBIDDEN,
    "Hanya ketua jabatan agensi pemohon boleh menyokong permohonan ini. / "
    "Only a head of department of the applicant's agency may endorse this application.",
)
ONLY_ADMIN = Refusal(
    403, FORBIDDEN,
    "Hanya pentadbir pelayan GovChat boleh meluluskan permohonan. / Only GovChat server administrators may approve applications.",
)
ONLY_HEAD_OR_ADMIN = Refusal(
    403, FORBIDDEN,
    "Hanya ketua jabatan agensi pemohon atau pentadbir GovChat boleh menolak permohonan ini. / "
    "Only a head of department of the applicant's agency or a GovChat administrator may reject this application.",
)
NOT_YOUR_OWN = Refusal(
    403, FORBIDDEN,
    "Anda tidak boleh menyokong atau memutuskan permohonan anda sendiri. / You may not endorse or decide your own application.",
)
NOT_ENDORSED_YET = Refusal(
    409, WRONG_STATE,
    "Permohonan ini belum disokong oleh ketua jabatan. / This application has not been endorsed by the head of department yet.",
)
ALREADY_ENDORSED = Refusal(409, WRONG_STATE, "Permohonan ini telah disokong. / This application has already been endorsed.")
ALREADY_DECIDED = Refusal(
    409, WRONG_STATE, "Permohonan ini telah diputuskan. / This application has already been decided."
)
NOT_APPROVED = Refusal(
    409, WRONG_STATE, "Hanya permohonan yang diluluskan boleh dilaksanakan. / Only an approved application can be carried out."
)
HEAD_AFTER_ENDORSEMENT = Refusal(
    403, FORBIDDEN,
    "Selepas disokong, hanya pentadbir GovChat boleh menolak permohonan. / "
    "Once endorsed, only a GovChat administrator may reject the application.",
)


def may_see(viewer: Viewer, applicant: str, agency_domain: str) -> bool:
    return viewer.is_admin or viewer.user_id == applicant or agency_domain in viewer.head_of


def refusal_for(action: str, viewer: Viewer, applicant: str, agency_domain: str, state: str) -> Refusal | None:
    """Why `viewer` may not do `action` now, or None if they may. Assumes `may_see` holds."""
    is_head = agency_domain in viewer.head_of
    if action == ENDORSE:
        if not is_head:
            return ONLY_HEAD
        if viewer.user_id == applicant:
            return NOT_YOUR_OWN
        return None if state == SUBMITTED else (ALREADY_ENDORSED if state == ENDORSED else ALREADY_DECIDED)
    if action == APPROVE:
        if not viewer.is_admin:
            return ONLY_ADMIN
        if viewer.user_id == applicant:
            return NOT_YOUR_OWN
        if state == SUBMITTED:
            return NOT_ENDORSED_YET
        return None if state == ENDORSED else ALREADY_DECIDED
    if action == REJECT:
        if not (viewer.is_admin or is_head):
            return ONLY_HEAD_OR_ADMIN
        if viewer.user_id == applicant:
            return NOT_YOUR_OWN
        if state not in WAITING_STATES:
            return ALREADY_DECIDED
        if state == ENDORSED and not viewer.is_admin:
            return HEAD_AFTER_ENDORSEMENT
        return None
    if action == CARRY_OUT:
        if not viewer.is_admin:
            return ONLY_ADMIN
        return None if state == APPROVED else NOT_APPROVED
    raise ValueError(f"unknown action {action!r}")


def allowed_actions(viewer: Viewer, applicant: str, agency_domain: str, state: str) -> list[str]:
    """The actions to offer on a page: those `refusal_for` lets through."""
    return [action for action in ACTIONS if refusal_for(action, viewer, applicant, agency_domain, state) is None]


def waiting_for(state: str) -> str | None:
    return {SUBMITTED: "head", ENDORSED: "administrator"}.get(state)


def is_overdue(state: str, since_ms: int, now_ms: int, review_period_days: int) -> bool:
    """Waiting (for the head or an administrator) longer than the review period."""
    return state in WAITING_STATES and now_ms - since_ms > review_period_days * DAY_MS


def reminder_due(end_ms: int, now_ms: int, reminder_days: int) -> bool:
    """An external user's permission ends within `reminder_days` but has not ended yet (A4).

    Once it has ended the account is deactivated instead; `reminder_days` 0 means no reminder.
    """
    return end_ms - reminder_days * DAY_MS <= now_ms < end_ms
