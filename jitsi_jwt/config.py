"""The GCMeet module's config, checked when Synapse starts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from synapse.module_api.errors import ConfigError

ALGORITHMS = ("HS256", "RS256")
MAX_TOKEN_LIFETIME_SECONDS = 900


@dataclass(frozen=True)
class SigningKey:
    """What signs the tokens: a shared secret (HS256) or an RSA private key with its kid (RS256)."""

    algorithm: str
    key: str  # HS256: the shared secret; RS256: the private key in PEM
    kid: str | None = None
    public_pem: str | None = None


@dataclass(frozen=True)
class GCMeetConfig:
    domain: str
    app_id: str
    audience: str
    signing: SigningKey
    token_lifetime_seconds: int
    moderator_power_level: int
    rate_limit_per_minute: int
    rate_limit_burst: int


def parse_gcmeet_config(config: dict[str, Any]) -> GCMeetConfig:
    domain = _text(config, "domain")
    app_id = _text(config, "app_id")
    audience = _text(config, "audience")
    if audience == "*":
        raise ConfigError("gcmeet: 'audience' must name an audience, not '*'")
    algorithm = config.get("algorithm", "HS256")
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"gcmeet: 'algorithm' must be HS256 or RS256, got {algorithm!r}")
    lifetime = _whole(config, "token_lifetime_seconds", 120, 5, MAX_TOKEN_LIFETIME_SECONDS)
    return GCMeetConfig(
        domain=domain,
        app_id=app_id,
        audience=audience,
        signing=_rs256_key(config) if algorithm == "RS256" else _hs256_key(config),
        token_lifetime_seconds=lifetime,
        moderator_power_level=_whole(config, "moderator_power_level", 50, 0, 1_000_000),
        rate_limit_per_minute=_whole(config, "rate_limit_per_minute", 30, 1, 1_000_000),
        rate_limit_burst=_whole(config, "rate_limit_burst", 10, 1, 1_000_000),
    )


def kid_for_public_key(public_pem: str, app_id: str) -> str:
    """A key id that changes with the key, so Prosody's key cache never serves a stale key."""
    return f"{app_id}-{hashlib.sha256(public_pem.encode('ascii')).hexdigest()[:16]}"


def asap_file_name(kid: str) -> str:
    """The file Prosody's asap_key_server lookup asks for: <sha256 hex of kid>.pem."""
    return hashlib.sha256(kid.encode("utf-8")).hexdigest() + ".pem"


def _hs256_key(config: dict[str, Any]) -> SigningKey:
    secret = config.get("app_secret")
    if not isinstance(secret, str) or len(secret) < 32:
        raise ConfigError("gcmeet: HS256 needs 'app_secret' of at least 32 characters")
    return SigningKey(algorithm="HS256", key=secret)


def _rs256_key(config: dict[str, Any]) -> SigningKey:
    path = config.get("rs256_private_key_path")
    if not isinstance(path, str) or not path:
        raise ConfigError("gcmeet: RS256 needs 'rs256_private_key_path'")
    try:
        private_pem = Path(path).read_bytes()
        private_key = serialization.load_pem_private_key(private_pem, password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ConfigError(f"gcmeet: cannot read the RS256 key {path} ({error})") from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ConfigError(f"gcmeet: {path} is not an RSA private key")
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return SigningKey(
        algorithm="RS256",
        key=private_pem.decode("ascii"),
        kid=kid_for_public_key(public_pem, str(config.get("app_id", ""))),
        public_pem=public_pem,
    )


def _text(config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"gcmeet: '{key}' must be non-empty text")
    return value


def _whole(config: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"gcmeet: '{key}' must be a whole number from {low} to {high}, got {value!r}")
    return value
