"""What GovChat tells people about content reports: server notices in Malay and English.

The reporter is named only to administrators; moderators, channel owners and the
warned sender never learn who reported.
"""

from __future__ import annotations

from synapse_modules.applications.messages import format_moment
from synapse_modules.content_reports import rules
from synapse_modules.content_reports.store import Item

SUBJECT_NAMES = {
    rules.EVENT: ("Mesej", "Message"),
    rules.ROOM: ("Bilik", "Room"),
    rules.USER: ("Pengguna", "User"),
}
STATE_NAMES = {
    rules.NEW: ("Baharu", "New"),
    rules.UNDER_REVIEW: ("Dalam semakan", "Under review"),
    rules.ACTED_ON: ("Tindakan diambil", "Acted on"),
    rules.DISMISSED: ("Ditolak", "Dismissed"),
}
ACTION_NAMES = {
    rules.REVIEW: ("Semak", "Review"),
    rules.REMOVE: ("Padam mesej", "Remove the message"),
    rules.WARN: ("Beri amaran kepada pengirim", "Warn the sender"),
    rules.CANCEL_ACCOUNT: ("Mulakan pembatalan akaun (A5)", "Start an account cancellation (A5)"),
    rules.DISMISS: ("Tolak laporan", "Dismiss the report"),
}
ENCRYPTED_NOTE = (
    "Mesej ini disulitkan hujung ke hujung: pelayan tidak dapat membacanya. Kandungannya hanya diketahui jika pelapor "
    "menyalinnya dalam sebab laporan. / This message is end-to-end encrypted: the server cannot read it. Its text is "
    "known only if the reporter copied it into the reason."
)


def _when(ms: int | None) -> str:
    return f"{format_moment(ms)} (UTC+8)" if ms else "-"


def _facts(item: Item, room_name: str) -> list[str]:
    lines = [f"Bilik / Room: {room_name} ({item.room_id})"] if item.room_id else []
    if item.subject == rules.EVENT:
        lines += [
            f"Pengirim / Sender: {item.accused or '-'}",
            f"Masa / Time: {_when(item.event_ts)}",
            f"Jenis / Type: {item.event_type or '-'}",
        ]
    elif item.subject == rules.USER:
        lines.append(f"Pengguna dilaporkan / Reported user: {item.accused or '-'}")
    return lines


def for_administrators(item: Item, room_name: str, reporter: str, reason: str, link: str) -> str:
    malay, english = SUBJECT_NAMES[item.subject]
    lines = [
        f"[GovChat] Laporan kandungan baharu / New content report {item.item_id} ({malay} / {english})",
        "",
        *_facts(item, room_name),
        f"Pelapor / Reporter: {reporter}",
        f"Sebab / Reason: {reason or '-'}",
    ]
    if item.encrypted:
        lines += ["", ENCRYPTED_NOTE]
    lines += ["", f"Baris gilir / Queue: {link}"]
    return "\n".join(lines)


def for_room_people(item: Item, room_name: str, reason: str, channel: bool) -> str:
    malay_role, english_role = ("pemilik saluran", "a channel owner") if channel else ("moderator bilik", "a room moderator")
    lines = [
        f"[GovChat] Satu mesej dalam bilik yang anda kendalikan telah dilaporkan ({item.item_id}). / "
        f"A message in a room you look after was reported ({item.item_id}).",
        "",
        *_facts(item, room_name),
        f"Sebab / Reason: {reason or '-'}",
        "",
        f"Sebagai {malay_role}, anda boleh memadam mesej ini dalam Element; pentadbir GovChat juga telah dimaklumkan. / "
        f"As {english_role}, you may remove this message in Element; GovChat's administrators have been told too.",
    ]
    if item.encrypted:
        lines += ["", ENCRYPTED_NOTE]
    if item.event_id:
        lines += ["", f"https://matrix.to/#/{item.room_id}/{item.event_id}"]
    return "\n".join(lines)


def warning(item: Item, room_name: str, note: str) -> str:
    """To the sender: what and where, never who reported it."""
    if item.subject == rules.EVENT:
        where_malay = f"Mesej anda dalam bilik {room_name} pada {_when(item.event_ts)}"
        where_english = f"Your message in the room {room_name} at {_when(item.event_ts)}"
    else:
        where_malay, where_english = "Kelakuan anda di GovChat", "Your conduct on GovChat"
    lines = [
        "[GovChat] Amaran / Warning",
        "",
        f"{where_malay} melanggar peraturan penggunaan GovChat: kandungan kesat, lucah, menghasut atau provokatif "
        f"tidak dibenarkan. Pelanggaran berulang boleh menyebabkan akaun anda dibatalkan. ({item.item_id})",
        "",
        f"{where_english} breaks GovChat's rules of use: abusive, obscene, seditious or provocative content is not "
        f"allowed. Repeated breaches may lead to your account being cancelled. ({item.item_id})",
    ]
    if note:
        lines += ["", f"Catatan pentadbir / Administrator's note: {note}"]
    return "\n".join(lines)
