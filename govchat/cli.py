"""The `govchat` console command.

Commands that change or read homeserver data go through GovChat's admin HTTP
API, so they behave exactly like the API and need an administrator's access
token (`--token` or GOVCHAT_ADMIN_TOKEN).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, Sequence

from govchat.launcher import StartupError, run
from govchat.render import render_synapse_config
from govchat.settings import Settings, SettingsError, data_dir_from_env, load_settings, port_from_env

ADMIN_API_PREFIX = "/_synapse/client/govchat/v1"


class CommandError(Exception):
    """The command failed; the message is one line for the operator."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        settings = load_settings(data_dir_from_env(), port_from_env())
        return int(arguments.handler(settings, arguments))
    except (SettingsError, StartupError, CommandError) as error:
        print(f"govchat: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govchat", description="Run and administer GovChat.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run_command = commands.add_parser("run", help="render the config and start every GovChat service")
    run_command.set_defaults(handler=lambda settings, arguments: run(settings))

    render_command = commands.add_parser("render", help="render Synapse's config without starting anything")
    render_command.set_defaults(handler=_render)

    users = commands.add_parser("users", help="accounts and their agencies")
    users_commands = users.add_subparsers(required=True, metavar="COMMAND")
    agencies = users_commands.add_parser("agencies", help="list each user's agency, recorded at registration")
    _add_admin_options(agencies)
    agencies.add_argument("--json", action="store_true", help="print JSON instead of a table")
    agencies.set_defaults(handler=_list_user_agencies)
    return parser


def _add_admin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", default=os.environ.get("GOVCHAT_ADMIN_TOKEN", ""), help="an administrator's access token (default: $GOVCHAT_ADMIN_TOKEN)")
    parser.add_argument("--url", default="", help="homeserver URL (default: public_baseurl)")


def _render(settings: Settings, arguments: argparse.Namespace) -> int:
    rendered = render_synapse_config(settings)
    print(rendered.homeserver_config)
    return 0


def _list_user_agencies(settings: Settings, arguments: argparse.Namespace) -> int:
    users: list[dict[str, Any]] = []
    since = ""
    while True:
        query = f"?from={since}" if since else ""
        page = admin_request(settings, arguments, "GET", f"/users/agencies{query}")
        users.extend(page["users"])
        since = page.get("next_from") or ""
        if not since:
            break
    if arguments.json:
        print(json.dumps({"users": users}, ensure_ascii=False, indent=2))
        return 0
    for user in users:
        agency = user["agency"]
        print(f"{user['user_id']}\t{user['email']}\t{agency['domain']}\t{agency['name']}\t{agency['ministry']}")
    return 0


def admin_request(settings: Settings, arguments: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    if not arguments.token:
        raise CommandError("an administrator's access token is needed: pass --token or set GOVCHAT_ADMIN_TOKEN")
    base = (arguments.url or settings.public_baseurl).rstrip("/")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{ADMIN_API_PREFIX}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {arguments.token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise CommandError(_describe_http_error(error)) from None
    except urllib.error.URLError as error:
        raise CommandError(f"cannot reach the homeserver at {base} ({error.reason}); is GovChat running?") from None


def _describe_http_error(error: urllib.error.HTTPError) -> str:
    try:
        answer = json.load(error)
        return f"{error.code} {answer.get('errcode', '')}: {answer.get('error', '')}"
    except ValueError:
        return f"{error.code} {error.reason}"


if __name__ == "__main__":
    sys.exit(main())
