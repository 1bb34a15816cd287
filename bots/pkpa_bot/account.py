"""The bot's own account: created once with the registration shared secret, then reused.

The access token and device ID are kept in the data dir, so the bot keeps one
device (and one crypto store) across restarts and encrypted rooms keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path


class AccountError(Exception):
    """The bot account cannot be set up; the message is one line for the operator."""


@dataclass(frozen=True)
class BotCredentials:
    user_id: str
    device_id: str
    access_token: str


def load_or_create_account(homeserver: str, shared_secret: str, localpart: str, credentials_path: Path) -> BotCredentials:
    if credentials_path.exists():
        return BotCredentials(**json.loads(credentials_path.read_text(encoding="utf-8")))
    credentials = _register(homeserver, shared_secret, localpart)
    credentials_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = credentials_path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8", opener=lambda p, f: os.open(p, f, 0o600)) as handle:
        json.dump(asdict(credentials), handle)
    os.replace(temporary, credentials_path)
    return credentials


def _register(homeserver: str, shared_secret: str, localpart: str) -> BotCredentials:
    nonce = _call(homeserver, "GET", "/_synapse/admin/v1/register")["nonce"]
    password = secrets.token_urlsafe(32)
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), b"notadmin"]))
    body = {"nonce": nonce, "username": localpart, "password": password, "admin": False, "mac": mac.hexdigest()}
    answer = _call(homeserver, "POST", "/_synapse/admin/v1/register", body)
    return BotCredentials(user_id=answer["user_id"], device_id=answer["device_id"], access_token=answer["access_token"])


def _call(homeserver: str, method: str, path: str, body: object = None) -> dict[str, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(homeserver.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        if "M_USER_IN_USE" in detail:
            raise AccountError(
                f"the bot account already exists but its credentials file is gone; delete the account or restore the file ({detail})"
            ) from None
        raise AccountError(f"{method} {path} failed: {error.code} {detail}") from None
