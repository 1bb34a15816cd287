"""The edit window rule (R4.3) as plain decisions, without a homeserver."""

from __future__ import annotations

import pytest
from synapse.module_api.errors import ConfigError

from synapse_modules.edit_window.config import parse_edit_window_config
from synapse_modules.edit_window.rule import (
    MAX_EDIT_CHAIN,
    EditOf,
    Refusal,
    StoredEvent,
    edit_of,
    is_annotation,
    judge_edit,
    judge_redaction,
    redaction_targets,
)

ALICE = "@alice:govchat.localhost"
BOB = "@bob:govchat.localhost"
ROOM = "!room:govchat.localhost"
OTHER_ROOM = "!other:govchat.localhost"
WINDOW_MS = 300_000
SENT_MS = 1_000_000


def message(
    event_id: str = "$original",
    sender: str = ALICE,
    ts: int = SENT_MS,
    type: str = "m.room.message",
    room_id: str = ROOM,
    replaces: str | None = None,
    is_state: bool = False,
    annotates: bool = False,
) -> StoredEvent:
    return StoredEvent(event_id, room_id, sender, type, ts, is_state, replaces, annotates)


def redact(chain: list[StoredEvent | None], now_ms: int, redactor: str = ALICE, by_admin: bool = False) -> Refusal | None:
    return judge_redaction(redactor, ROOM, chain, now_ms, WINDOW_MS, by_admin)


# --- edits ---------------------------------------------------------------------


def test_edit_inside_the_window_is_accepted() -> None:
    assert judge_edit(ALICE, ROOM, [message()], SENT_MS + WINDOW_MS, WINDOW_MS) is None


def test_edit_after_window_is_rejected() -> None:
    assert judge_edit(ALICE, ROOM, [message()], SENT_MS + WINDOW_MS + 1, WINDOW_MS) is Refusal.LATE_EDIT


def test_edit_of_an_edit_is_measured_from_the_original() -> None:
    fresh_edit = message("$edit", ts=SENT_MS + WINDOW_MS, replaces="$original")
    chain = [fresh_edit, message()]
    assert judge_edit(ALICE, ROOM, chain, SENT_MS + WINDOW_MS + 1, WINDOW_MS) is Refusal.LATE_EDIT


def test_editing_someone_elses_message_is_refused_at_once() -> None:
    assert judge_edit(BOB, ROOM, [message()], SENT_MS, WINDOW_MS) is Refusal.NOT_YOUR_MESSAGE


def test_editing_through_someone_elses_edit_chain_is_refused() -> None:
    chain = [message("$edit", sender=BOB, replaces="$original"), message()]
    assert judge_edit(ALICE, ROOM, chain, SENT_MS, WINDOW_MS) is Refusal.NOT_YOUR_MESSAGE


@pytest.mark.parametrize(
    "chain",
    [[], [None], [message(room_id=OTHER_ROOM)], [message("$edit", replaces="$gone"), None]],
    ids=["malformed relation", "unknown event", "event in another room", "broken chain"],
)
def test_edit_of_a_message_the_server_cannot_find_here_is_refused(chain: list[StoredEvent | None]) -> None:
    assert judge_edit(ALICE, ROOM, chain, SENT_MS, WINDOW_MS) is Refusal.UNKNOWN_MESSAGE


def test_edit_chain_longer_than_the_server_follows_is_refused() -> None:
    chain: list[StoredEvent | None] = [message(f"${n}", replaces=f"${n + 1}") for n in range(MAX_EDIT_CHAIN)]
    assert judge_edit(ALICE, ROOM, chain, SENT_MS, WINDOW_MS) is Refusal.UNKNOWN_MESSAGE


# --- redactions ----------------------------------------------------------------


def test_redaction_of_own_message_inside_the_window_is_accepted() -> None:
    assert redact([message()], SENT_MS + WINDOW_MS) is None


def test_redaction_of_own_message_after_window_is_rejected() -> None:
    assert redact([message()], SENT_MS + WINDOW_MS + 1) is Refusal.LATE_REDACTION


def test_redaction_of_a_fresh_edit_of_an_old_message_is_rejected() -> None:
    chain = [message("$edit", ts=SENT_MS + WINDOW_MS, replaces="$original"), message()]
    assert redact(chain, SENT_MS + WINDOW_MS + 1) is Refusal.LATE_REDACTION


def test_moderator_may_redact_someone_elses_message_at_any_time() -> None:
    # Synapse's own auth rules require the room's `redact` power level for this.
    assert redact([message()], SENT_MS + 10 * WINDOW_MS, redactor=BOB) is None


def test_admin_api_redaction_in_the_users_name_is_allowed_at_any_time() -> None:
    assert redact([message()], SENT_MS + 10 * WINDOW_MS, by_admin=True) is None


def test_removing_own_reaction_stays_allowed() -> None:
    assert redact([message(type="m.reaction", annotates=True)], SENT_MS + 10 * WINDOW_MS) is None


def test_an_encrypted_event_claiming_to_annotate_keeps_the_window() -> None:
    """Its decrypted type may be a message, which Element shows as a message (issue 12)."""
    late = SENT_MS + 10 * WINDOW_MS
    assert redact([message(type="m.room.encrypted", annotates=True)], late) is Refusal.LATE_REDACTION
    assert redact([message(type="m.room.encrypted", annotates=True)], SENT_MS + WINDOW_MS // 2) is None


def test_late_redaction_of_an_encrypted_message_without_annotation_is_refused() -> None:
    assert redact([message(type="m.room.encrypted")], SENT_MS + 10 * WINDOW_MS) is Refusal.LATE_REDACTION


def test_an_edit_that_also_claims_to_annotate_is_no_reaction() -> None:
    edit_event = message(event_id="$edit", type="m.room.encrypted", replaces="$original", annotates=True)
    assert redact([edit_event, message()], SENT_MS + 10 * WINDOW_MS) is Refusal.LATE_REDACTION


def test_annotation_needs_target_and_key() -> None:
    relation = {"rel_type": "m.annotation", "event_id": "$x", "key": "👍"}
    assert is_annotation({"m.relates_to": relation})
    assert not is_annotation({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$x"}})
    assert not is_annotation({"m.relates_to": {"rel_type": "M.ANNOTATION", "event_id": "$x", "key": "👍"}})
    assert not is_annotation({"m.relates_to": [relation]})


def test_redaction_of_own_state_event_is_not_subject_to_the_window() -> None:
    assert redact([message(type="m.room.topic", is_state=True)], SENT_MS + 10 * WINDOW_MS) is None


@pytest.mark.parametrize("chain", [[], [None], [message(room_id=OTHER_ROOM)]], ids=["malformed", "unknown", "other room"])
def test_redaction_of_a_message_the_server_cannot_find_here_is_refused(chain: list[StoredEvent | None]) -> None:
    assert redact(chain, SENT_MS) is Refusal.UNKNOWN_MESSAGE


# --- reading content -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"body": "hi"}, None),
        ({"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}, None),
        ({"m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}, None),
        ({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$x", "key": "👍"}}, None),
        ({"m.new_content": {"body": "new"}}, None),
        ({"m.relates_to": "m.replace"}, None),
        ({"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}, EditOf("$x")),
        ({"m.relates_to": {"rel_type": "m.replace"}}, EditOf(None)),
        ({"m.relates_to": {"rel_type": "m.replace", "event_id": 7}}, EditOf(None)),
        ({"m.relates_to": {"rel_type": "m.replace", "event_id": ""}}, EditOf(None)),
    ],
)
def test_only_an_m_replace_relation_makes_an_edit(content: dict[str, object], expected: EditOf | None) -> None:
    assert edit_of(content) == expected


def test_redaction_targets_are_read_from_top_level_and_content() -> None:
    assert redaction_targets("$a", {}) == ["$a"]
    assert redaction_targets(None, {"redacts": "$b"}) == ["$b"]
    assert redaction_targets("$a", {"redacts": "$a"}) == ["$a"]
    assert redaction_targets("$a", {"redacts": "$b"}) == ["$a", "$b"]
    assert redaction_targets(None, {"redacts": 5}) == [5]


# --- sentences and config ----------------------------------------------------------


def test_refusals_are_one_sentence_in_malay_and_one_in_english() -> None:
    for refusal in Refusal:
        malay, english = refusal.sentence(300).split(" / ")
        assert malay and english
    assert Refusal.LATE_EDIT.sentence(300) == (
        "Mesej hanya boleh disunting dalam tempoh 5 minit selepas dihantar. / "
        "A message can only be edited within 5 minutes of being sent."
    )
    assert "3 saat" in Refusal.LATE_REDACTION.sentence(3) and "3 seconds" in Refusal.LATE_REDACTION.sentence(3)
    assert "1 minute " in Refusal.LATE_EDIT.sentence(60)


@pytest.mark.parametrize("value", [0, -1, 86401, "300", True, None, 1.5])
def test_bad_window_fails_at_startup(value: object) -> None:
    with pytest.raises(ConfigError):
        parse_edit_window_config({"edit_window_seconds": value})


def test_window_is_read_in_seconds() -> None:
    assert parse_edit_window_config({"edit_window_seconds": 300}).window_ms == 300_000
