"""Secrets generated once per installation and kept across restarts.

Losing them would log every user out (macaroon key), break the first-admin
command (registration shared secret) or change the server's identity (signing
key), so they are created only when absent and written atomically, owner-only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from signedjson.key import generate_signing_key, write_signing_keys

# gcmeet_app_secret signs GCMeet's Jitsi tokens (HS256) unless gcmeet.app_secret is set.
# worker_replication_secret authenticates requests between Synapse processes (worker layout).
SECRET_NAMES = ("registration_shared_secret", "macaroon_secret_key", "form_secret", "gcmeet_app_secret", "worker_replication_secret")
SECRETS_FILE_NAME = "secrets.yaml"
SIGNING_KEY_FILE_NAME = "signing.key"
GCMEET_RS256_KEY_FILE_NAME = "gcmeet_rs256.key"


def ensure_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / SECRETS_FILE_NAME
    existing: dict[str, str] = {}
    if path.exists():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [name for name in SECRET_NAMES if not existing.get(name)]
    if missing:
        for name in missing:
            existing[name] = secrets.token_urlsafe(48)
        _write_private(path, yaml.safe_dump(existing, sort_keys=True))
    return existing


def ensure_signing_key(data_dir: Path) -> Path:
    path = data_dir / SIGNING_KEY_FILE_NAME
    if not path.exists():
        key = generate_signing_key("a_" + secrets.token_hex(2))
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w", opener=_private_opener) as handle:
            write_signing_keys(handle, [key])
        os.replace(temporary, path)
    return path


def ensure_gcmeet_rs256_key(data_dir: Path) -> Path:
    """GCMeet's RS256 private key (PEM); Prosody fetches only the public half."""
    path = data_dir / GCMEET_RS256_KEY_FILE_NAME
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(path, pem.decode("ascii"))
    return path


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8", opener=_private_opener) as handle:
        handle.write(text)
    os.replace(temporary, path)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
