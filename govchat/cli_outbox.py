"""`govchat outbox list|retry`: what GovChat still owes people (mails, server notices, deactivations).

Through the admin HTTP API (`/_synapse/client/govchat/v1/outbox`), like the other
administration commands, so it works on either layout and needs an administrator's token.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from govchat.cli_common import CommandError, add_admin_options, admin_request
from govchat.settings import Settings


def add_outbox_commands(commands: Any) -> None:

    outbox = commands.add_parser("outbox", help="mails, server notices and deactivations not yet delivered")
    outbox_commands = outbox.add_subparsers(required=True, metavar="COMMAND")
    listing = outbox_commands.add_parser("list", help="items still pending and items given up")
    listing.add_argument("--limit", type=int, default=100, help="at most this many of each (default 100, at most 1000)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)
    retry = outbox_commands.add_parser("retry", help="deliver items now; given-up items are pending again")
    retry.add_argument("ids", nargs="*", help="item IDs from `govchat outbox list`")
    retry.add_argument("--all-given-up", action="store_true", help="every given-up item")
    retry.set_defaults(handler=_retry)
    for command in (listing, retry):
        add_admin_options(command)


def _list(settings: Settings, arguments: argparse.Namespace) -> int:

    answer = admin_request(settings, arguments, "GET", f"/outbox?limit={arguments.limit}")
    if arguments.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    for state in ("pending", "given_up"):
        for item in answer[state]:
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(item["created_ts"] / 1000))
            error = (item["last_error"] or "-").replace("\t", " ").replace("\n", " ")
            print(f"{item['id']}\t{state}\t{item['kind']}\t{item['recipient']}\t{created}Z\t{item['attempts']}\t{error}")
    return 0


def _retry(settings: Settings, arguments: argparse.Namespace) -> int:

    if bool(arguments.ids) == arguments.all_given_up:
        raise CommandError("outbox retry: give item IDs or --all-given-up, not both")
    body: dict[str, Any] = {"all_given_up": True} if arguments.all_given_up else {"ids": arguments.ids}
    retried = admin_request(settings, arguments, "POST", "/outbox/retry", body)["retried"]
    for item_id in retried:
        print(f"{item_id}\tretried")
    missing = [] if arguments.all_given_up else [item_id for item_id in arguments.ids if item_id not in retried]
    for item_id in missing:
        print(f"{item_id}\tnot retried (delivered, being delivered, or unknown)")
    return 1 if missing else 0
