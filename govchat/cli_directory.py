"""`govchat directory sync [--dry-run]`: deactivate accounts whose directory entry is gone or disabled.

Calls POST /_synapse/client/govchat/v1/directory/sync and prints its JSON report.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from govchat.cli_common import add_admin_options, admin_request
from govchat.settings import Settings


def add_directory_commands(commands: Any) -> None:

    directory = commands.add_parser("directory", help="agency staff directories (LDAP)")
    directory_commands = directory.add_subparsers(required=True, metavar="COMMAND")
    sync = directory_commands.add_parser(
        "sync", help="deactivate accounts whose directory entry is gone or disabled; prints a JSON report"
    )
    sync.add_argument("--dry-run", action="store_true", help="report what would be deactivated, change nothing")
    add_admin_options(sync)
    sync.set_defaults(handler=_sync)


def _sync(settings: Settings, arguments: argparse.Namespace) -> int:

    report = admin_request(settings, arguments, "POST", "/directory/sync", {"dry_run": bool(arguments.dry_run)})
    print(json.dumps(report, ensure_ascii=False, indent=2))
    # Non-zero when a directory could not be read or a deactivation failed, for cron and monitoring.
    return 1 if report.get("errors") else 0
