"""The edit window rule as plain functions of plain values (no Synapse here).

A local user may change what they shared (edit it with an `m.replace` relation,
or redact it) only while `now - origin_server_ts(original) <= window`. "Now" is
the server's clock, and `origin_server_ts` of a local event is stamped by this
server too, so a client cannot move either.

What counts as a change, and what does not:

- An edit is any event whose clear-text `content["m.relates_to"]` has
  `rel_type: m.replace`, whatever its type (also `m.room.encrypted`: in an
  encrypted room the relation stays in clear text, and spec-following clients
  read the relation from there). It is measured from the original message at
  the end of the edit chain, never from a previous edit, and only the sender of
  the whole chain may make it.
- A redaction of one's own event is measured the same way; redacting an edit
  would bring back the older text, so it counts from the original message too.
- Not shared data: state events and reactions (`m.reaction` annotations). An
  encrypted event whose clear-text relation is an annotation is NOT exempt: the
  server cannot see its decrypted type, and Element shows one whose decrypted
  type is a message as a message (docs/security.md), so it keeps the window.
- Moderation: redacting somebody else's event is left to Synapse, which allows
  it only at or above the room's `redact` power level (R9.3). An administrator
  redacting a user's events through the admin API is moderation as well.
- Anything the server cannot resolve (an unknown event, an event in another
  room, an edit chain longer than MAX_EDIT_CHAIN) is refused: fail closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

REPLACE = "m.replace"
REACTION = "m.reaction"
ENCRYPTED = "m.room.encrypted"
ANNOTATION = "m.annotation"
REDACTION = "m.room.redaction"

# Spec-following clients point every edit at the original, so real chains are
# one link long; a longer chain is followed this far and then refused.
MAX_EDIT_CHAIN = 8


@dataclass(frozen=True)
class StoredEvent:
    """What the rule needs to know about an event already in the room."""

    event_id: str
    room_id: str
    sender: str
    type: str
    origin_server_ts: int
    is_state: bool
    # The event this one replaces, when it is itself an edit.
    replaces: str | None
    # Its clear-text relation is an annotation (a reaction), whatever its type.
    annotates: bool = False


# Erasing one's own account (`POST /account/deactivate` with `erase: true`) would blank every
# message for members who join later, beyond the edit window, which a late deletion cannot.
# Cancellation is form A5; administrators may still erase (R9.3).
SELF_ERASURE_REFUSED = (
    "Mesej tidak boleh dipadam selepas tempoh suntingan, termasuk dengan memadam akaun; "
    "nyahaktifkan akaun tanpa pemadaman (erase) atau mohon pembatalan akaun melalui borang A5. / "
    "Messages cannot be deleted after the editing window, also not by erasing the account; "
    "deactivate without erase or apply for cancellation with form A5."
)


def may_erase_on_deactivation(erase_requested: bool, by_admin: bool) -> bool:
    return not erase_requested or by_admin


class Refusal(Enum):
    LATE_EDIT = "late_edit"
    LATE_REDACTION = "late_redaction"
    NOT_YOUR_MESSAGE = "not_your_message"
    UNKNOWN_MESSAGE = "unknown_message"
    CHECK_FAILED = "check_failed"

    def sentence(self, window_seconds: int) -> str:
        malay_span, english_span = _spans(window_seconds)
        malay, english = _SENTENCES[self]
        return f"{malay.format(span=malay_span)} / {english.format(span=english_span)}"


_SENTENCES = {
    Refusal.LATE_EDIT: (
        "Mesej hanya boleh disunting dalam tempoh {span} selepas dihantar.",
        "A message can only be edited within {span} of being sent.",
    ),
    Refusal.LATE_REDACTION: (
        "Mesej hanya boleh dipadam dalam tempoh {span} selepas dihantar.",
        "A message can only be deleted within {span} of being sent.",
    ),
    Refusal.NOT_YOUR_MESSAGE: (
        "Anda hanya boleh menyunting mesej anda sendiri.",
        "You can only edit your own messages.",
    ),
    Refusal.UNKNOWN_MESSAGE: (
        "Mesej asal tidak ditemui dalam bilik ini.",
        "The original message was not found in this room.",
    ),
    Refusal.CHECK_FAILED: (
        "Pelayan tidak dapat menyemak had masa suntingan; sila cuba lagi.",
        "The server could not check the editing time limit; please try again.",
    ),
}


def _spans(window_seconds: int) -> tuple[str, str]:
    if window_seconds % 60 == 0:
        minutes = window_seconds // 60
        return f"{minutes} minit", f"{minutes} minute{'' if minutes == 1 else 's'}"
    return f"{window_seconds} saat", f"{window_seconds} second{'' if window_seconds == 1 else 's'}"


# --- reading an event's content ----------------------------------------------


@dataclass(frozen=True)
class EditOf:
    """The event is an edit; `target` is the replaced event's ID, None if malformed."""

    target: str | None


def edit_of(content: Mapping[str, Any]) -> EditOf | None:
    """The m.replace relation in clear-text content, or None when this is no edit.

    Threads, replies and annotations are not edits, and neither is `m.new_content`
    without an m.replace relation: clients show such an event as a new message.
    """
    relation = content.get("m.relates_to")
    if not isinstance(relation, Mapping) or relation.get("rel_type") != REPLACE:
        return None
    target = relation.get("event_id")
    return EditOf(target if isinstance(target, str) and target else None)


def is_annotation(content: Mapping[str, Any]) -> bool:
    """A clear-text m.annotation relation with its target and key, as reactions carry."""
    relation = content.get("m.relates_to")
    return (
        isinstance(relation, Mapping)
        and relation.get("rel_type") == ANNOTATION
        and isinstance(relation.get("event_id"), str)
        and isinstance(relation.get("key"), str)
    )


def is_reaction(event: StoredEvent) -> bool:
    """A clear-text reaction. An encrypted event that claims to annotate may carry a
    message (its decrypted type is hidden from the server), so it is not one."""
    if event.replaces is not None:
        return False
    return event.type == REACTION


def redaction_targets(top_level_redacts: object, content: Mapping[str, Any]) -> list[object]:
    """Every event a redaction names, top-level (room versions 1-10) or in content (11+).

    Both places are checked whatever the room version, so a redaction cannot hide
    its real target in the place the rule did not look.
    """
    targets: list[object] = []
    if top_level_redacts is not None:
        targets.append(top_level_redacts)
    if "redacts" in content and content["redacts"] != top_level_redacts:
        targets.append(content["redacts"])
    return targets


# --- the decisions -------------------------------------------------------------


def is_late(original: StoredEvent, now_ms: int, window_ms: int) -> bool:
    return now_ms - original.origin_server_ts > window_ms


def judge_edit(editor: str, room_id: str, chain: Sequence[StoredEvent | None], now_ms: int, window_ms: int) -> Refusal | None:
    """May `editor` send an edit of chain[0] now?

    `chain` runs from the replaced event towards the original message, as far as
    it was fetched: None marks an event the server does not have.
    """
    original = _original(chain, room_id)
    if original is None:
        return Refusal.UNKNOWN_MESSAGE
    if any(event is not None and event.sender != editor for event in chain):
        return Refusal.NOT_YOUR_MESSAGE  # Synapse itself would accept it.
    if is_late(original, now_ms, window_ms):
        return Refusal.LATE_EDIT
    return None


def judge_redaction(
    redactor: str,
    room_id: str,
    chain: Sequence[StoredEvent | None],
    now_ms: int,
    window_ms: int,
    ordered_by_administrator: bool,
) -> Refusal | None:
    """May `redactor` redact chain[0] now? (`chain` as for judge_edit.)

    `ordered_by_administrator`: the redaction comes from the admin API (the server
    issues it in the user's name on an administrator's order), not from the user.
    """
    target = chain[0] if chain else None
    if target is None or target.room_id != room_id:
        return Refusal.UNKNOWN_MESSAGE
    if target.is_state:
        return None  # Not a message: room settings and memberships follow Synapse's auth rules.
    if is_reaction(target):
        return None  # Reactions are not shared data: removing one's own stays allowed.
    if target.sender != redactor:
        # Moderation (R9.3): Synapse lets this through only at or above the room's
        # `redact` power level, at any age.
        return None
    if ordered_by_administrator:
        # Conduct enforcement by a server administrator through the admin API (R9.3).
        return None
    original = _original(chain, room_id)
    if original is None:
        return Refusal.UNKNOWN_MESSAGE
    if is_late(original, now_ms, window_ms):
        return Refusal.LATE_REDACTION
    return None


def _original(chain: Sequence[StoredEvent | None], room_id: str) -> StoredEvent | None:
    """The original message at the end of the chain, or None if it cannot be trusted."""
    if not chain:
        return None
    for event in chain:
        if event is None or event.room_id != room_id:
            return None
    last = chain[-1]
    assert last is not None
    if last.replaces is not None:
        return None  # The chain is longer than the server follows.
    return last
