"""Who is told what about an application (docs/applications.md), without a homeserver."""

from __future__ import annotations

from synapse_modules.applications import notifications
from synapse_modules.applications.notifications import Audience

HEADS = [("mampu.gov.my", "@ketua:s"), ("jpa.gov.my", "@ketua-jpa:s"), ("mampu.gov.my", "@timbalan:s"), ("mampu.gov.my", "@ketua:s")]


def test_a_new_application_is_announced_to_the_heads_of_its_agency_only() -> None:
    told = notifications.about_new_application("mampu.gov.my", "@pegawai:s", HEADS)
    assert told == Audience(mails=(), notices=("@ketua:s", "@timbalan:s"))


def test_a_head_who_applies_is_not_told_to_endorse_their_own_application() -> None:
    told = notifications.about_new_application("mampu.gov.my", "@ketua:s", HEADS)
    assert told == Audience(mails=(), notices=("@timbalan:s",))


def test_the_applicant_is_told_the_outcome_by_e_mail_and_server_notice() -> None:
    told = notifications.about_outcome("@pegawai:s", "pegawai@mampu.gov.my")
    assert told == Audience(mails=("pegawai@mampu.gov.my",), notices=("@pegawai:s",))


def test_a_form_without_a_mailbox_is_answered_by_server_notice_alone() -> None:
    # A cancellation an administrator started from a content report names no applicant's mailbox.
    assert notifications.about_outcome("@admin:s", "") == Audience(mails=(), notices=("@admin:s",))


def test_an_ending_permission_is_announced_by_e_mail_and_server_notice() -> None:
    told = notifications.about_permission_ending("rakan@contoh.com", "@rakan:s")
    assert told == Audience(mails=("rakan@contoh.com",), notices=("@rakan:s",))
