"""`govchat report monthly --month YYYY-MM --format csv|html|json`: the monthly report (R8.4) on stdout.

Calls GET /_synapse/client/govchat/v1/reports/monthly, so it prints exactly what the
admin API and web page show.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from govchat.cli_common import ADMIN_API_PREFIX, CommandError, add_admin_options, describe_http_error
from govchat.settings import Settings


def add_report_commands(commands: Any) -> None:

    reports = commands.add_parser("report", help="reports for administrators")
    report_commands = reports.add_subparsers(required=True, metavar="COMMAND")
    monthly = report_commands.add_parser("monthly", help="users and public channels per ministry and agency (form A7)")
    monthly.add_argument("--month", required=True, help="the month, e.g. 2026-03")
    monthly.add_argument("--format", choices=("csv", "html", "json"), default="csv", help="output format (default csv)")
    add_admin_options(monthly)
    monthly.set_defaults(handler=_monthly)


def _monthly(settings: Settings, arguments: argparse.Namespace) -> int:
    query = urllib.parse.urlencode({"month": arguments.month, "format": arguments.format})
    text = _admin_get_text(settings, arguments, f"/reports/monthly?{query}")
    if arguments.format == "json":
        text = json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"
    sys.stdout.write(text)
    return 0


def _admin_get_text(settings: Settings, arguments: argparse.Namespace, path: str) -> str:
    """Like `govchat.cli_common.admin_request`, for answers that are not JSON (CSV, HTML)."""

    if not arguments.token:
        raise CommandError("an administrator's access token is needed: pass --token or set GOVCHAT_ADMIN_TOKEN")
    base = (arguments.url or settings.public_baseurl).rstrip("/")
    request = urllib.request.Request(f"{base}{ADMIN_API_PREFIX}{path}", method="GET")
    request.add_header("Authorization", f"Bearer {arguments.token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise CommandError(describe_http_error(error)) from None
    except urllib.error.URLError as error:
        raise CommandError(f"cannot reach the homeserver at {base} ({error.reason}); is GovChat running?") from None
