"""The applications workflow's rule table and form checks, without a homeserver."""

from __future__ import annotations

import pytest

from govchat.agencies import Agency
from synapse_modules.applications import forms, workflow
from synapse_modules.applications.web import form_to_submission

AGENCIES = (Agency("gov.my", "Kerajaan", "Kerajaan"), Agency("mampu.gov.my", "MAMPU", "JPM"))
APPLICANT = {"name": "A", "organisation": "B", "division": "C", "address": "D", "position": "E", "phone": "03-8000 0000", "email": "a@mampu.gov.my"}
HEAD = workflow.Viewer("@head:s", is_admin=False, head_of=frozenset({"mampu.gov.my"}))
ADMIN = workflow.Viewer("@admin:s", is_admin=True)
APPLICANT_VIEWER = workflow.Viewer("@applicant:s", is_admin=False)


def test_only_a_head_of_the_agency_endorses() -> None:
    assert workflow.refusal_for("endorse", HEAD, "@applicant:s", "mampu.gov.my", "submitted") is None
    assert workflow.refusal_for("endorse", ADMIN, "@applicant:s", "mampu.gov.my", "submitted") == workflow.ONLY_HEAD
    assert workflow.refusal_for("endorse", HEAD, "@applicant:s", "jpa.gov.my", "submitted") == workflow.ONLY_HEAD


def test_approval_needs_endorsement_and_happens_once() -> None:
    assert workflow.refusal_for("approve", ADMIN, "@applicant:s", "mampu.gov.my", "submitted") == workflow.NOT_ENDORSED_YET
    assert workflow.refusal_for("approve", ADMIN, "@applicant:s", "mampu.gov.my", "endorsed") is None
    assert workflow.refusal_for("approve", ADMIN, "@applicant:s", "mampu.gov.my", "carried_out") == workflow.ALREADY_DECIDED


def test_nobody_decides_their_own_application() -> None:
    assert workflow.refusal_for("approve", ADMIN, ADMIN.user_id, "mampu.gov.my", "endorsed") == workflow.NOT_YOUR_OWN
    assert workflow.refusal_for("endorse", HEAD, HEAD.user_id, "mampu.gov.my", "submitted") == workflow.NOT_YOUR_OWN


def test_applicant_head_and_administrators_see_it_and_nobody_else() -> None:
    assert workflow.may_see(APPLICANT_VIEWER, "@applicant:s", "mampu.gov.my")
    assert workflow.may_see(HEAD, "@applicant:s", "mampu.gov.my") and workflow.may_see(ADMIN, "@applicant:s", "mampu.gov.my")
    assert not workflow.may_see(workflow.Viewer("@other:s", False, frozenset({"jpa.gov.my"})), "@applicant:s", "mampu.gov.my")


def test_waiting_past_the_review_period_is_overdue() -> None:
    day = workflow.DAY_MS
    assert workflow.is_overdue("submitted", 0, 4 * day, 3) and not workflow.is_overdue("submitted", 0, 2 * day, 3)
    assert not workflow.is_overdue("carried_out", 0, 40 * day, 3)


END = 100 * workflow.DAY_MS  # an A4 permission's end (midnight after its end date)


def test_a_reminder_falls_due_reminder_days_before_the_end() -> None:
    # docs/applications.md (A4): "`reminder_days` before the end, registered users get a server notice and an e-mail".
    assert not workflow.reminder_due(END, END - 8 * workflow.DAY_MS, 7)
    assert not workflow.reminder_due(END, END - 7 * workflow.DAY_MS - 1, 7)
    assert workflow.reminder_due(END, END - 7 * workflow.DAY_MS, 7)
    assert workflow.reminder_due(END, END - 1, 7)


def test_no_reminder_once_the_permission_has_ended() -> None:
    # "at the end the account is deactivated": that replaces the reminder.
    assert not workflow.reminder_due(END, END, 7)
    assert not workflow.reminder_due(END, END + workflow.DAY_MS, 7)


def test_reminder_days_zero_sends_no_reminder() -> None:
    assert not any(workflow.reminder_due(END, now, 0) for now in (END - workflow.DAY_MS, END - 1, END))


def test_a4_form_is_parsed_with_its_end_date() -> None:
    body = {"kind": "external_users", "applicant": APPLICANT, "details": {
        "purpose": "P", "end_date": "2030-01-31", "users": [{"name": "N", "organisation": "O", "position": "P", "email": "X@Contoh.com"}]}}
    submission = forms.parse_submission(body, AGENCIES, "s", 0)
    assert submission.external_emails() == ["x@contoh.com"]
    assert submission.due_ts == forms.parse_moment("2030-02-01", "f", end_of_day=False)


@pytest.mark.parametrize(("applicant_changes", "field", "missing"), [({"name": " "}, "applicant.name", True), ({"email": "a@gmail.com"}, "applicant.email", False)])
def test_applicant_fields_are_checked(applicant_changes: dict[str, str], field: str, missing: bool) -> None:
    body = {"kind": "public_channel", "applicant": {**APPLICANT, **applicant_changes}, "details": {"channel_name": "C", "owner_name": "O", "owner_email": "o@mampu.gov.my"}}
    with pytest.raises(forms.InvalidField) as problem:
        forms.parse_submission(body, AGENCIES, "s", 0)
    assert problem.value.field == field and problem.value.missing is missing and " / " in problem.value.message


def test_channel_alias_comes_from_the_name() -> None:
    assert forms.alias_from_name("Pengumuman JPA 2026!") == "pengumuman-jpa-2026"


def test_web_form_fields_become_the_api_body_without_blank_rows() -> None:
    body = form_to_submission({"kind": "external_users", "applicant.name": "A", "details.users.0.email": "x@y.com", "details.users.1.email": " "})
    assert body["applicant"] == {"name": "A"} and body["details"]["users"] == [{"email": "x@y.com"}]
