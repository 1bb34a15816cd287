"""Content reports as plain functions of plain values: nothing here knows Synapse.

A report (Synapse's `event_reports`, `room_reports` or `user_reports` row) is about a
*subject*: one message, one room or one user. Every report of the same subject joins
one queue item, so ten people reporting one message make one item with ten reports.

| Action          | Who            | From state                      | To state     | Subject       |
| --------------- | -------------- | ------------------------------- | ------------ | ------------- |
| review          | administrator  | new                             | under_review | any           |
| remove          | administrator  | new, under_review, acted_on     | acted_on     | a message     |
| warn            | administrator  | new, under_review, acted_on     | acted_on     | message, user |
| cancel_account  | administrator  | new, under_review, acted_on     | acted_on     | message, user |
| dismiss         | administrator  | new, under_review (with a note) | dismissed    | any           |

Only server administrators see the queue (403 for everyone else). A message is
removed once and one cancellation is started per item (409 after that). A new report
of a subject already in the queue is added to its item and announced no further.

Who is told of a new item: every administrator except the reported user; for a
message in a channel its owners, for a message in any other room its moderators
(those whose power level lets them delete other people's messages), except the
reported user and the reporter. Only administrators learn who reported; the reported
user never does.

Reporters are rate limited: beyond `max_reports_per_window` reports in
`rate_window_seconds`, a reporter's further reports are kept but held: they open no
item and nobody is told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from synapse_modules.common.refusals import FORBIDDEN, WRONG_STATE, Refusal

EVENT = "event"
ROOM = "room"
USER = "user"
SUBJECTS = (EVENT, ROOM, USER)

NEW = "new"
UNDER_REVIEW = "under_review"
ACTED_ON = "acted_on"
DISMISSED = "dismissed"
STATES = (NEW, UNDER_REVIEW, ACTED_ON, DISMISSED)
OPEN_STATES = (NEW, UNDER_REVIEW)

REVIEW = "review"
REMOVE = "remove"
WARN = "warn"
CANCEL_ACCOUNT = "cancel_account"
DISMISS = "dismiss"
ACTIONS = (REVIEW, REMOVE, WARN, CANCEL_ACCOUNT, DISMISS)
NEXT_STATE = {REVIEW: UNDER_REVIEW, REMOVE: ACTED_ON, WARN: ACTED_ON, CANCEL_ACCOUNT: ACTED_ON, DISMISS: DISMISSED}

ENCRYPTED_TYPE = "m.room.encrypted"


ONLY_ADMIN = Refusal(
    403, FORBIDDEN,
    "Hanya pentadbir pelayan GovChat boleh mengendalikan laporan kandungan. / "
    "Only GovChat server administrators may handle content reports.",
)
CLOSED = Refusal(
    409, WRONG_STATE,
    "Laporan ini telah ditolak; tiada tindakan lanjut. / This report was dismissed; no further action is possible.",
)
ALREADY_DECIDED = Refusal(
    409, WRONG_STATE,
    "Tindakan telah diambil atas laporan ini; ia tidak boleh ditolak lagi. / "
    "Action was taken on this report; it can no longer be dismissed.",
)
NOT_NEW = Refusal(409, WRONG_STATE, "Laporan ini sudah disemak. / This report is already being reviewed.")
NOT_A_MESSAGE = Refusal(
    409, WRONG_STATE, "Laporan ini bukan tentang satu mesej. / This report is not about a message."
)
NO_SENDER = Refusal(
    409, WRONG_STATE,
    "Laporan ini tidak menamakan pengguna pelayan ini. / This report does not name a user of this server.",
)
ALREADY_REMOVED = Refusal(409, WRONG_STATE, "Mesej ini telah dipadam. / This message has already been removed.")
ALREADY_CANCELLING = Refusal(
    409, WRONG_STATE,
    "Pembatalan akaun telah dimulakan untuk laporan ini. / An account cancellation has already been started for this report.",
)


@dataclass(frozen=True)
class ItemFacts:
    """What the rule table needs to know about a queue item."""

    state: str
    subject: str
    # The local user the item is about (a message's sender or the reported user), if any.
    accused: str | None
    removed: bool
    application_id: str | None


def refusal_for(action: str, is_admin: bool, item: ItemFacts) -> Refusal | None:
    """Why this may not be done now, or None if it may."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not is_admin:
        return ONLY_ADMIN
    if item.state == DISMISSED:
        return CLOSED
    if action == REVIEW:
        return None if item.state == NEW else NOT_NEW
    if action == DISMISS:
        return None if item.state in OPEN_STATES else ALREADY_DECIDED
    if action == REMOVE:
        if item.subject != EVENT:
            return NOT_A_MESSAGE
        return ALREADY_REMOVED if item.removed else None
    if item.accused is None:
        return NO_SENDER
    if action == CANCEL_ACCOUNT and item.application_id is not None:
        return ALREADY_CANCELLING
    return None


def allowed_actions(is_admin: bool, item: ItemFacts) -> list[str]:
    return [action for action in ACTIONS if refusal_for(action, is_admin, item) is None]


def next_state(action: str, state: str) -> str:
    """Acting again on an item already acted on keeps it there."""
    return ACTED_ON if state == ACTED_ON and action in (REMOVE, WARN, CANCEL_ACCOUNT) else NEXT_STATE[action]


def subject_key(subject: str, room_id: str | None, event_id: str | None, target_user_id: str | None) -> str:
    """One queue item per message, room or user: the grouping of duplicate reports."""
    if subject == EVENT:
        return f"event:{event_id}"
    if subject == ROOM:
        return f"room:{room_id}"
    return f"user:{target_user_id}"


def is_held(recent_reports: int, max_reports: int) -> bool:
    """A reporter with `recent_reports` already counted in the window may not open or add to items."""
    return recent_reports >= max_reports


def moderators(levels: Mapping[str, int], redact_level: int) -> set[str]:
    """Joined members (`levels`: each one's power level) who may delete other people's messages."""
    return {user_id for user_id, level in levels.items() if level >= redact_level}


@dataclass(frozen=True)
class Recipients:
    administrators: frozenset[str]
    # Moderators or channel owners: told without the reporter's name.
    room_people: frozenset[str]


def recipients(
    administrators: Iterable[str], room_people: Iterable[str], accused: str | None, reporters: Iterable[str]
) -> Recipients:
    """The reported user is never told of a report, and nobody is told twice."""
    never = {accused} if accused else set()
    admins = frozenset(set(administrators) - never)
    people = frozenset(set(room_people) - never - set(reporters) - admins)
    return Recipients(administrators=admins, room_people=people)


def is_encrypted(event_type: str | None) -> bool:
    return event_type == ENCRYPTED_TYPE
