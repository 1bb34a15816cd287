"""The content-reports rule table and its helpers, with plain values."""

from __future__ import annotations

import pytest

from synapse_modules.content_reports import rules
from synapse_modules.content_reports.rules import ItemFacts


def facts(state: str = rules.NEW, subject: str = rules.EVENT, accused: str | None = "@ali:gc", removed: bool = False,
          application_id: str | None = None) -> ItemFacts:
    return ItemFacts(state=state, subject=subject, accused=accused, removed=removed, application_id=application_id)


@pytest.mark.parametrize("action", rules.ACTIONS)
def test_only_administrators_act_on_reports(action: str) -> None:
    assert rules.refusal_for(action, False, facts()) is rules.ONLY_ADMIN


def test_a_new_message_report_offers_every_action() -> None:
    assert rules.allowed_actions(True, facts()) == list(rules.ACTIONS)


def test_a_message_is_removed_once() -> None:
    assert rules.refusal_for(rules.REMOVE, True, facts(state=rules.ACTED_ON, removed=True)) is rules.ALREADY_REMOVED


def test_after_acting_the_sender_may_still_be_warned_but_the_report_not_dismissed() -> None:
    acted = facts(state=rules.ACTED_ON, removed=True)
    assert rules.refusal_for(rules.WARN, True, acted) is None
    assert rules.refusal_for(rules.DISMISS, True, acted) is rules.ALREADY_DECIDED
    assert rules.next_state(rules.WARN, rules.ACTED_ON) == rules.ACTED_ON


def test_a_dismissed_report_is_closed() -> None:
    assert rules.allowed_actions(True, facts(state=rules.DISMISSED)) == []


def test_one_cancellation_per_report() -> None:
    assert rules.refusal_for(rules.CANCEL_ACCOUNT, True, facts(application_id="A5-1")) is rules.ALREADY_CANCELLING


def test_room_reports_have_no_message_to_remove_and_no_sender() -> None:
    room = facts(subject=rules.ROOM, accused=None)
    assert rules.refusal_for(rules.REMOVE, True, room) is rules.NOT_A_MESSAGE
    assert rules.refusal_for(rules.WARN, True, room) is rules.NO_SENDER
    assert rules.allowed_actions(True, room) == [rules.REVIEW, rules.DISMISS]


def test_review_only_from_new() -> None:
    assert rules.refusal_for(rules.REVIEW, True, facts(state=rules.UNDER_REVIEW)) is rules.NOT_NEW


def test_duplicate_reports_share_one_subject_key() -> None:
    assert rules.subject_key(rules.EVENT, "!r", "$e", None) == rules.subject_key(rules.EVENT, "!other", "$e", None)
    assert rules.subject_key(rules.USER, None, None, "@u:gc") != rules.subject_key(rules.ROOM, "@u:gc", None, None)


def test_reporter_is_held_at_the_limit() -> None:
    assert not rules.is_held(4, 5)
    assert rules.is_held(5, 5)


def test_moderators_are_joined_members_at_the_redact_level() -> None:
    levels = {"@mod:gc": 50, "@creator:gc": 2**60, "@member:gc": 0}
    assert rules.moderators(levels, 50) == {"@mod:gc", "@creator:gc"}
    assert rules.moderators(levels, 75) == {"@creator:gc"}


def test_the_reported_user_is_never_told_and_reporters_are_not_told_as_moderators() -> None:
    told = rules.recipients(["@admin:gc", "@bad:gc"], ["@mod:gc", "@bad:gc", "@reporter:gc", "@admin:gc"], "@bad:gc", ["@reporter:gc"])
    assert told.administrators == {"@admin:gc"}
    assert told.room_people == {"@mod:gc"}


def test_encrypted_means_the_server_cannot_read_it() -> None:
    assert rules.is_encrypted("m.room.encrypted")
    assert not rules.is_encrypted("m.room.message")
