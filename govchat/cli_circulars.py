"""`govchat circulars import|list|set-status|remove`: keep Bot-GovChat's library current.

Every command calls the circulars admin API (/_synapse/client/govchat/v1/circulars),
so it behaves exactly like the API: the bot and the portal see the change within
a minute, without a restart.

    govchat circulars import garis-panduan.pdf --id SAKP-1-2022
    govchat circulars import pekeliling-baru.md --id PKPA-2-2026 --title "Tajuk Pekeliling"
    govchat circulars list
    govchat circulars set-status PA-1-2001 cancelled --superseded-by PA-4-2022
    govchat circulars remove PKPA-2-2026
"""

from __future__ import annotations

import argparse
import base64
import json
import urllib.parse
from pathlib import Path
from typing import Any

from govchat.cli_common import CommandError, add_admin_options, admin_request
from govchat.settings import Settings

STATUSES = ("in_force", "amended", "cancelled", "unknown")


def add_circular_commands(commands: Any) -> None:

    circulars = commands.add_parser("circulars", help="Bot-GovChat's circulars library: import, list, status, remove")
    circular_commands = circulars.add_subparsers(required=True, metavar="COMMAND")

    importing = circular_commands.add_parser("import", help="import a circular's text from a PDF, text or Markdown file")
    importing.add_argument("path", help="the document: .pdf (with text, not scanned), .txt or .md")
    importing.add_argument("--id", required=True, dest="circular_id", help="the circular's id, e.g. SAKP-1-2022")
    importing.add_argument("--title", help="Malay title (needed for a circular not yet in the library)")
    importing.add_argument("--subject", help="English subject")
    importing.add_argument("--date", help="date issued, YYYY-MM-DD")
    importing.add_argument("--source", help="where the document comes from")
    importing.add_argument("--status", choices=STATUSES, help="status (default: unchanged, or in_force when new)")
    importing.add_argument("--restricted", action="store_true", help="only signed-in users see it (not on the public portal)")
    importing.set_defaults(handler=_import)

    listing = circular_commands.add_parser("list", help="every circular with its status and imported paragraphs")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)

    status = circular_commands.add_parser("set-status", help="mark a circular in force, amended, cancelled or unknown")
    status.add_argument("circular_id", help="e.g. PA-1-2001")
    status.add_argument("status", choices=STATUSES)
    status.add_argument("--superseded-by", default="", help="id of the circular that replaces it")
    status.set_defaults(handler=_set_status)

    remove = circular_commands.add_parser("remove", help="remove a circular and its text from the library")
    remove.add_argument("circular_id")
    remove.set_defaults(handler=_remove)

    for command in circular_commands.choices.values():
        add_admin_options(command)


def _import(settings: Settings, arguments: argparse.Namespace) -> int:

    path = Path(arguments.path)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    body: dict[str, Any] = {
        "format": "pdf" if path.suffix.lower() == ".pdf" or content.startswith(b"%PDF") else "text",
        "content_base64": base64.b64encode(content).decode("ascii"),
    }
    for option, field in (("title", "title_ms"), ("subject", "subject_en"), ("date", "date"), ("source", "source"), ("status", "status")):
        value = getattr(arguments, option)
        if value is not None:
            body[field] = value
    if arguments.restricted:
        body["public"] = False
    _print_circular(admin_request(settings, arguments, "POST", f"/circulars/{_quoted(arguments.circular_id)}/import", body))
    return 0


def _list(settings: Settings, arguments: argparse.Namespace) -> int:

    answer = admin_request(settings, arguments, "GET", "/circulars")
    if arguments.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    for circular in answer["circulars"]:
        _print_circular(circular)
    return 0


def _set_status(settings: Settings, arguments: argparse.Namespace) -> int:

    body = {"status": arguments.status, "superseded_by": arguments.superseded_by}
    _print_circular(admin_request(settings, arguments, "POST", f"/circulars/{_quoted(arguments.circular_id)}/status", body))
    return 0


def _remove(settings: Settings, arguments: argparse.Namespace) -> int:

    answer = admin_request(settings, arguments, "DELETE", f"/circulars/{_quoted(arguments.circular_id)}")
    print(f"removed\t{answer['removed']}")
    return 0


def _print_circular(circular: dict[str, Any]) -> None:
    replaced = circular["superseded_by"] or "-"
    print(f"{circular['id']}\t{circular['status']}\t{replaced}\t{circular['passages']}\t{circular['title_ms']}")


def _quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="")
