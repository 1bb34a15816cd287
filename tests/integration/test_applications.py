"""Applications A4, A5 and A6 end to end over the JSON API on a real homeserver (R1.3-R1.6, R5.5)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.harness import GovChatServer, User, mail_link
from tests.integration.applications_helpers import (
    API,
    act,
    apply,
    audit_actions,
    fetch,
    make_head,
    official_user,
    server_notices,
    submitted,
)


@pytest.fixture(scope="module")
def head(govchat: GovChatServer, admin: User) -> User:
    return make_head(govchat, admin)


@pytest.fixture(scope="module")
def applicant(govchat: GovChatServer) -> User:
    return official_user(govchat)


def in_a_month() -> str:
    return (date.today() + timedelta(days=30)).isoformat()


def a4_details(*emails: str) -> dict[str, object]:
    return {
        "purpose": "Perunding projek pendigitalan / Consultants on the digitisation project",
        "end_date": in_a_month(),
        "users": [
            {"name": f"Perunding {index}", "organisation": "Syarikat Contoh Sdn Bhd / ICT", "position": "Perunding", "email": email}
            for index, email in enumerate(emails)
        ],
    }


# --- A4: external users -----------------------------------------------------------------


def test_external_users_register_only_after_approval_as_the_sponsors_users(
    govchat: GovChatServer, admin: User, head: User, applicant: User
) -> None:
    external = f"perunding.{uuid.uuid4().hex[:8]}@contoh.com.my"
    application_id = submitted(govchat, applicant, "external_users", a4_details(external))

    refused = govchat.client_api("POST", "/register/email/requestToken", json={"email": external, "client_secret": "s" * 16, "send_attempt": 1})
    assert refused.status_code == 403 and refused.json()["errcode"] == "M_THREEPID_DENIED"

    # Refusals: approving before endorsement, a non-head endorsing, the applicant approving.
    early = act(govchat, admin, application_id, "approve")
    assert early.status_code == 409 and " / " in early.json()["error"]
    someone = official_user(govchat)
    assert act(govchat, someone, application_id, "endorse").status_code == 404  # not theirs to see
    assert act(govchat, applicant, application_id, "endorse").status_code == 403
    assert act(govchat, admin, application_id, "endorse").status_code == 403  # an administrator is not the head

    assert act(govchat, head, application_id, "endorse", "Disokong").json()["state"] == "endorsed"
    assert act(govchat, head, application_id, "approve").status_code == 403  # the head does not approve
    approved = act(govchat, admin, application_id, "approve", "Lulus")
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "carried_out"
    assert act(govchat, admin, application_id, "approve").status_code == 409  # no double approval

    mail = govchat.wait_for_mail(to=applicant.email or "")
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and external in body.get_content()
    assert application_id in str(mail["Subject"]) and application_id in mail_link(mail, "/applications/")
    server_notices(govchat, applicant, lambda bodies: any(application_id in body for body in bodies))

    user = govchat.register_with_email(external)
    agencies = govchat.request("GET", "/_synapse/client/govchat/v1/users/agencies?limit=1000", admin.access_token).json()["users"]
    record = next(entry for entry in agencies if entry["user_id"] == user.user_id)
    assert record["agency"]["domain"] == "mampu.gov.my" and record["email"] == external

    trail = fetch(govchat, applicant, application_id).json()
    assert audit_actions(trail) == ["submitted", "endorsed", "approved", "carried_out", "notified"]
    assert [entry["actor"] for entry in trail["audit"][:3]] == [applicant.user_id, head.user_id, admin.user_id]
    assert all(entry["ts"] > 0 for entry in trail["audit"])


def test_head_may_reject_before_endorsement_with_a_note_and_the_applicant_is_told(
    govchat: GovChatServer, head: User, applicant: User
) -> None:
    application_id = submitted(govchat, applicant, "external_users", a4_details(f"x.{uuid.uuid4().hex[:6]}@contoh.com.my"))
    without_note = act(govchat, head, application_id, "reject")
    assert without_note.status_code == 400 and without_note.json()["errcode"] == "M_MISSING_PARAM"
    rejected = act(govchat, head, application_id, "reject", "Tujuan tidak jelas")
    assert rejected.json()["state"] == "rejected"
    assert audit_actions(rejected.json())[-1] == "notified"
    server_notices(govchat, applicant, lambda bodies: any(application_id in body and "Tujuan tidak jelas" in body for body in bodies))
    assert act(govchat, head, application_id, "endorse").status_code == 409


# --- A5: account cancellation --------------------------------------------------------------


def test_cancelled_account_cannot_log_in_and_its_address_registers_again(
    govchat: GovChatServer, admin: User, head: User, applicant: User
) -> None:
    leaver_email = f"bersara.{uuid.uuid4().hex[:8]}@mampu.gov.my"
    leaver = govchat.register_with_email(leaver_email)
    details = {"account": leaver.user_id, "account_email": leaver_email, "reason": "Bersara / Retired", "effective_date": date.today().isoformat()}
    application_id = submitted(govchat, applicant, "account_cancellation", details)
    act(govchat, head, application_id, "endorse")
    done = act(govchat, admin, application_id, "approve", "Disahkan")
    assert done.json()["state"] == "carried_out", done.text

    login = govchat.login(leaver.user_id, leaver.password)
    # Synapse drops a deactivated account's password: the login is refused like a wrong password.
    assert login.status_code == 403 and login.json()["errcode"] in ("M_FORBIDDEN", "M_USER_DEACTIVATED")
    assert govchat.client_api("GET", "/account/whoami", leaver.access_token).status_code == 401
    again = govchat.register_with_email(leaver_email)
    assert again.user_id != leaver.user_id
    server_notices(govchat, applicant, lambda bodies: any(application_id in body for body in bodies))
    assert audit_actions(fetch(govchat, admin, application_id).json())[-2:] == ["carried_out", "notified"]


def test_cancellation_of_an_unknown_account_is_refused_naming_the_field(govchat: GovChatServer, applicant: User) -> None:
    details = {"account": "@tiada-sesiapa:" + govchat.server_name, "account_email": "tiada@mampu.gov.my", "reason": "x", "effective_date": "2026-01-01"}
    answer = apply(govchat, applicant, "account_cancellation", details)
    assert answer.status_code == 400 and answer.json()["field"] == "details.account"


# --- A6: public channel -------------------------------------------------------------------


def test_channel_is_created_with_its_owner_after_approval(govchat: GovChatServer, admin: User, head: User, applicant: User) -> None:
    owner = official_user(govchat)
    alias = f"pengumuman-{uuid.uuid4().hex[:6]}"
    details = {"channel_name": "Pengumuman Ujian", "channel_alias": alias, "owner_name": "Encik Pemilik", "owner_email": owner.email}
    application_id = submitted(govchat, applicant, "public_channel", details)
    act(govchat, head, application_id, "endorse")
    done = act(govchat, admin, application_id, "approve").json()
    assert done["state"] == "carried_out", done
    assert done["result"]["owner"] == owner.user_id and done["result"]["alias"] == f"#{alias}:{govchat.server_name}"
    channels = govchat.request("GET", "/_synapse/client/govchat/v1/channels", admin.access_token).json()["channels"]
    channel = next(entry for entry in channels if entry["room_id"] == done["result"]["room_id"])
    assert channel["owners"] == [owner.user_id] and channel["name"] == "Pengumuman Ujian"
    server_notices(govchat, applicant, lambda bodies: any(application_id in body for body in bodies))
    govchat.wait_for_mail(to=applicant.email or "")


def test_owner_without_an_account_is_appointed_when_they_register(govchat: GovChatServer, admin: User, head: User, applicant: User) -> None:
    owner_email = f"pemilik.{uuid.uuid4().hex[:8]}@mampu.gov.my"
    details = {"channel_name": "Saluran Belum Berpemilik", "channel_alias": f"belum-{uuid.uuid4().hex[:6]}", "owner_name": "Puan Pemilik", "owner_email": owner_email}
    application_id = submitted(govchat, applicant, "public_channel", details)
    act(govchat, head, application_id, "endorse")
    done = act(govchat, admin, application_id, "approve").json()
    assert done["state"] == "carried_out" and done["result"]["owner_pending"] == owner_email
    owner = govchat.register_with_email(owner_email)
    after = fetch(govchat, admin, application_id).json()
    assert after["result"]["owner"] == owner.user_id and "owner_pending" not in after["result"]
    assert audit_actions(after)[-1] == "owner_appointed"


def test_administrator_may_reject_after_endorsement_but_not_approve_a_rejected_one(
    govchat: GovChatServer, admin: User, head: User, applicant: User
) -> None:
    details = {"channel_name": "Saluran Ditolak", "owner_name": "X", "owner_email": applicant.email}
    application_id = submitted(govchat, applicant, "public_channel", details)
    act(govchat, head, application_id, "endorse")
    assert act(govchat, head, application_id, "reject", "tidak").status_code == 403
    assert act(govchat, admin, application_id, "reject", "Saluran serupa sudah wujud").json()["state"] == "rejected"
    assert act(govchat, admin, application_id, "approve").status_code == 409


# --- who sees what ----------------------------------------------------------------------------


def test_only_applicant_head_and_administrators_see_an_application(govchat: GovChatServer, admin: User, head: User, applicant: User) -> None:
    application_id = submitted(govchat, applicant, "public_channel", {"channel_name": "Rahsia", "owner_name": "X", "owner_email": applicant.email})
    for viewer in (applicant, head, admin):
        assert fetch(govchat, viewer, application_id).status_code == 200
    stranger = official_user(govchat)
    other_head = make_head(govchat, admin, "jpa.gov.my")
    for outsider in (stranger, other_head):
        missing = fetch(govchat, outsider, application_id)
        assert missing.status_code == 404 and missing.json()["errcode"] == "M_NOT_FOUND"
        assert fetch(govchat, outsider, "A6-000000000000").json() == missing.json()  # same answer as a made-up ID
        listed = govchat.request("GET", API, outsider.access_token).json()["applications"]
        assert application_id not in [entry["application_id"] for entry in listed]
    assert application_id in [entry["application_id"] for entry in govchat.request("GET", API, head.access_token).json()["applications"]]
    assert govchat.request("GET", f"{API}/{application_id}").status_code == 401


def test_external_users_cannot_apply(govchat: GovChatServer) -> None:
    plain = govchat.register_plain_user()
    answer = apply(govchat, plain, "public_channel", {"channel_name": "X", "owner_name": "X", "owner_email": "a@mampu.gov.my"})
    assert answer.status_code == 403 and " / " in answer.json()["error"]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "details", "applicant_changes", "errcode", "field"),
    [
        ("external_users", {"purpose": "x", "end_date": "2099-01-01"}, {}, "M_MISSING_PARAM", "details.users"),
        ("external_users", {"purpose": "x", "end_date": "2099-01-01", "users": [{"name": "A", "organisation": "B", "position": "C", "email": "a@mampu.gov.my"}]}, {}, "M_INVALID_PARAM", "details.users[0].email"),
        ("external_users", {"purpose": "x", "end_date": "semalam", "users": [{"name": "A", "organisation": "B", "position": "C", "email": "a@contoh.com"}]}, {}, "M_INVALID_PARAM", "details.end_date"),
        ("external_users", {"purpose": "x", "end_date": "2001-01-01", "users": [{"name": "A", "organisation": "B", "position": "C", "email": "a@contoh.com"}]}, {}, "M_INVALID_PARAM", "details.end_date"),
        ("external_users", {"purpose": "x", "end_date": "2099-01-01", "users": [{"name": "A", "organisation": "B", "position": "C"}]}, {}, "M_MISSING_PARAM", "details.users[0].email"),
        ("public_channel", {"channel_name": "X", "owner_name": "Y", "owner_email": "y@gmail.com"}, {}, "M_INVALID_PARAM", "details.owner_email"),
        ("public_channel", {"channel_name": "X", "owner_name": "Y", "owner_email": "y@mampu.gov.my"}, {"phone": "telefon"}, "M_INVALID_PARAM", "applicant.phone"),
        ("public_channel", {"channel_name": "X", "owner_name": "Y", "owner_email": "y@mampu.gov.my"}, {"division": ""}, "M_MISSING_PARAM", "applicant.division"),
        ("public_channel", {"channel_name": 7, "owner_name": "Y", "owner_email": "y@mampu.gov.my"}, {}, "M_INVALID_PARAM", "details.channel_name"),
        ("account_cancellation", {"account": "@a:elsewhere.example", "account_email": "a@mampu.gov.my", "reason": "x", "effective_date": "2026-01-01"}, {}, "M_INVALID_PARAM", "details.account"),
        ("surat_cinta", {}, {}, "M_INVALID_PARAM", "kind"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(
    govchat: GovChatServer, applicant: User, kind: str, details: dict[str, object], applicant_changes: dict[str, str], errcode: str, field: str
) -> None:
    before = len(govchat.request("GET", API, applicant.access_token).json()["applications"])
    from tests.integration.applications_helpers import applicant_details

    body = {"kind": kind, "applicant": applicant_details(applicant.email or "", **applicant_changes), "details": details}
    answer = govchat.request("POST", API, applicant.access_token, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errcode"] == errcode and answer.json()["field"] == field
    assert " / " in answer.json()["error"]
    assert len(govchat.request("GET", API, applicant.access_token).json()["applications"]) == before


def test_body_that_is_not_json_is_refused(govchat: GovChatServer, applicant: User) -> None:
    answer = govchat.request("POST", API, applicant.access_token, data=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["errcode"] == "M_NOT_JSON"


def test_only_administrators_designate_heads(govchat: GovChatServer, applicant: User) -> None:
    answer = govchat.request("POST", f"{API}/heads", applicant.access_token, json={"domain": "mampu.gov.my", "user_id": applicant.user_id})
    assert answer.status_code == 403
