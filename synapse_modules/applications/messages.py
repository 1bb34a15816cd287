"""What GovChat tells people about applications: server notices and e-mails, in Malay and English."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from govchat.malaysia_time import MALAYSIA_TIME
from synapse_modules.applications import forms, workflow
from synapse_modules.applications.store import Application, Person

KIND_NAMES = {
    forms.EXTERNAL_USERS: ("Pendaftaran pengguna luar (A4)", "External users' registration (A4)"),
    forms.ACCOUNT_CANCELLATION: ("Pembatalan akaun (A5)", "Account cancellation (A5)"),
    forms.PUBLIC_CHANNEL: ("Saluran awam (A6)", "Public channel (A6)"),
}
STATE_NAMES = {
    workflow.SUBMITTED: ("Dihantar", "Submitted"),
    workflow.ENDORSED: ("Disokong ketua jabatan", "Endorsed by the head of department"),
    workflow.APPROVED: ("Diluluskan", "Approved"),
    workflow.REJECTED: ("Ditolak", "Rejected"),
    workflow.CARRIED_OUT: ("Dilaksanakan", "Carried out"),
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str

    @property
    def html(self) -> str:
        paragraphs = "".join(f"<p>{html.escape(part)}</p>" for part in self.text.split("\n\n"))
        return f"<!DOCTYPE html><html><body>{paragraphs}</body></html>"


def one_line(text: str) -> str:
    """Text from a form, as one line: whatever got stored, it cannot start a paragraph of its own."""
    return " ".join(str(text).split())


def format_moment(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, MALAYSIA_TIME).strftime("%Y-%m-%d %H:%M")


def outcome(application: Application, link: str) -> Message:
    """To the applicant once their application is rejected or carried out."""
    malay_kind, english_kind = KIND_NAMES[application.kind]
    ref = application.application_id
    if application.state == workflow.REJECTED:
        note = f"\u201c{one_line(_last_note(application, 'rejected'))}\u201d"
        malay = f"Permohonan {malay_kind} anda ({ref}) ditolak. Catatan: {note}"
        english = f"Your application, {english_kind} ({ref}), was rejected. Note: {note}"
    else:
        malay, english = _carried_out_sentences(application)
    return Message(
        subject=f"[GovChat] {malay_kind} {ref}: {STATE_NAMES[application.state][0]} / {STATE_NAMES[application.state][1]}",
        text=f"{malay}\n\n{english}\n\n{link}",
    )


def _carried_out_sentences(application: Application) -> tuple[str, str]:
    ref = application.application_id
    details = application.form["details"]
    if application.kind == forms.EXTERNAL_USERS:
        emails = ", ".join(user["email"] for user in details["users"])
        until = format_moment(application.due_ts or 0)
        return (
            f"Permohonan A4 anda ({ref}) diluluskan. Pengguna berikut kini boleh mendaftar di GovChat dengan e-mel mereka "
            f"hingga {until}: {emails}.",
            f"Your application A4 ({ref}) was approved. These users may now register on GovChat with their e-mail "
            f"until {until}: {emails}.",
        )
    if application.kind == forms.ACCOUNT_CANCELLATION:
        account = details["account"]
        return (
            f"Permohonan A5 anda ({ref}) telah dilaksanakan: akaun {account} telah dibatalkan.",
            f"Your application A5 ({ref}) was carried out: the account {account} has been cancelled.",
        )
    alias = application.result.get("alias", "")
    pending = application.result.get("owner_pending")
    owner_malay = f" Pemilik ({pending}) akan dilantik sebaik sahaja mendaftar." if pending else ""
    owner_english = f" The owner ({pending}) will be appointed as soon as they register." if pending else ""
    return (
        f"Permohonan A6 anda ({ref}) telah dilaksanakan: saluran {one_line(details['channel_name'])} ({alias}) telah diwujudkan.{owner_malay}",
        f"Your application A6 ({ref}) was carried out: the channel {one_line(details['channel_name'])} ({alias}) has been created.{owner_english}",
    )


def waiting_for_head(application: Application, link: str) -> Message:
    malay_kind, english_kind = KIND_NAMES[application.kind]
    ref = application.application_id
    name = one_line(application.form["applicant"]["name"])
    return Message(
        subject=f"[GovChat] {malay_kind} {ref}: menunggu sokongan / awaiting endorsement",
        text=(
            f"Permohonan {malay_kind} ({ref}) daripada {name} menunggu sokongan anda.\n\n"
            f"The application {english_kind} ({ref}) from {name} awaits your endorsement.\n\n{link}"
        ),
    )


def permission_ending(person: Person) -> Message:
    until = format_moment(person.end_ts)
    return Message(
        subject="[GovChat] Kebenaran anda akan tamat / Your permission is ending",
        text=(
            f"Kebenaran anda menggunakan GovChat ({person.email}) tamat pada {until}; akaun anda akan dibatalkan pada masa itu. "
            "Minta pegawai yang memohon untuk anda membuat permohonan baharu jika perlu.\n\n"
            f"Your permission to use GovChat ({person.email}) ends at {until}; your account will be deactivated then. "
            "Ask the officer who applied for you to make a new application if needed."
        ),
    )


def _last_note(application: Application, action: str) -> str:
    notes = [entry.note for entry in application.audit if entry.action == action]
    return notes[-1] if notes else ""
