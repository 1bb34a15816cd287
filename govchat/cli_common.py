"""What every `govchat` admin command shares: the admin options, the admin API request and its errors.

Its own module so that `govchat.cli` and the command groups (`cli_directory`, `cli_report`, ...) import it
without importing each other.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any

from govchat.settings import Settings

ADMIN_API_PREFIX = "/_synapse/client/govchat/v1"


class CommandError(Exception):
    """The command failed; the message is one line for the operator."""


def add_admin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", default=os.environ.get("GOVCHAT_ADMIN_TOKEN", ""), help="an administrator's access token (default: $GOVCHAT_ADMIN_TOKEN)")
    parser.add_argument("--url", default="", help="homeserver URL (default: public_baseurl)")


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
        raise CommandError(describe_http_error(error)) from None
    except urllib.error.URLError as error:
        raise CommandError(f"cannot reach the homeserver at {base} ({error.reason}); is GovChat running?") from None


def describe_http_error(error: urllib.error.HTTPError) -> str:
    try:
        answer = json.load(error)
        return f"{error.code} {answer.get('errcode', '')}: {answer.get('error', '')}"
    except ValueError:
        return f"{error.code} {error.reason}"
