"""GovChat's one settings file: `$GOVCHAT_DATA_DIR/govchat.yaml`.

The documented default, `config/govchat.yaml`, is also the schema: a key that is
not in it is a typo, and a value must have the type of its default. Sections
merge key by key; lists (such as the agencies) replace the default whole.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from govchat.agencies import Agency, agencies_from_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_FILE = PROJECT_ROOT / "config" / "govchat.yaml"
SETTINGS_FILE_NAME = "govchat.yaml"
DEFAULT_PORT = 8008

# Sections whose keys are the operator's own, not GovChat's.
FREE_FORM_KEYS = {"synapse_extra"}

_HOSTNAME = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_SERVER_NAME = re.compile(_HOSTNAME.pattern + r"(?::[0-9]{1,5})?")


class SettingsError(Exception):
    """A setting is wrong; the message is one line naming the key."""


@dataclass(frozen=True)
class Settings:
    values: dict[str, Any]
    data_dir: Path
    port: int

    @property
    def server_name(self) -> str:
        return str(self.values["server_name"])

    @property
    def public_baseurl(self) -> str:
        configured = str(self.values["public_baseurl"])
        return configured or f"http://127.0.0.1:{self.port}/"

    @property
    def agencies(self) -> tuple[Agency, ...]:
        return agencies_from_config(self.values["registration"]["agencies"])

    @property
    def email(self) -> dict[str, Any]:
        return dict(self.values["email"])

    @property
    def uses_local_mail_server(self) -> bool:
        return not self.values["email"]["smtp_host"]

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def client_workers(self) -> int:
        return int(self.values["workers"]["client"])

    @property
    def uses_workers(self) -> bool:
        return self.client_workers > 0

    @property
    def uses_postgresql(self) -> bool:
        return self.values["database"]["engine"] == "postgresql"

    @property
    def uses_local_postgresql(self) -> bool:
        return self.uses_postgresql and not self.values["database"]["host"]

    @property
    def uses_local_redis(self) -> bool:
        return self.uses_workers and not self.values["redis"]["host"]


def data_dir_from_env() -> Path:
    return Path(os.environ.get("GOVCHAT_DATA_DIR", "var")).resolve()


def port_from_env() -> int:
    raw = os.environ.get("GOVCHAT_PORT", str(DEFAULT_PORT))
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"GOVCHAT_PORT: must be a port number from 1 to 65535, got {raw!r}")
    return int(raw)


def ensure_settings_file(data_dir: Path) -> Path:
    """Create the settings file from the documented default, never overwriting it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / SETTINGS_FILE_NAME
    if not path.exists():
        shutil.copyfile(DEFAULT_SETTINGS_FILE, path)
    return path


def load_settings(data_dir: Path, port: int) -> Settings:
    defaults = _read_yaml(DEFAULT_SETTINGS_FILE)
    overrides = _read_yaml(ensure_settings_file(data_dir))
    values = _merge(defaults, overrides, path="")
    _check_values(values)
    _check_layout(values)
    return Settings(values=values, data_dir=data_dir, port=port)


def _check_layout(values: dict[str, Any]) -> None:
    """Settings that only make sense together."""
    if values["workers"]["client"] > 0 and values["database"]["engine"] != "postgresql":
        raise SettingsError("workers.client: the worker layout needs database.engine: postgresql (Synapse's workers cannot share SQLite)")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise SettingsError(f"{path}{where}: not valid YAML ({problem})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot be read ({error})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: must be a mapping of settings, not {_kind(loaded)}")
    return loaded


def _merge(defaults: dict[str, Any], overrides: dict[str, Any], path: str) -> dict[str, Any]:
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        key_path = f"{path}{key}"
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise SettingsError(f"{key_path}: unknown setting (known here: {known})")
        default = defaults[key]
        if isinstance(default, dict) and key_path not in FREE_FORM_KEYS:
            if not isinstance(value, dict):
                raise SettingsError(f"{key_path}: must be a mapping of settings, not {_kind(value)}")
            merged[key] = _merge(default, value, path=f"{key_path}.")
        else:
            _check_type(key_path, value, default)
            merged[key] = value
    return merged


def _check_type(key_path: str, value: Any, default: Any) -> None:
    expected: type = type(default)
    # bool is a subclass of int in Python, but `true` is no port number.
    matches = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not matches:
        raise SettingsError(f"{key_path}: must be {_kind_name(expected)}, not {_kind(value)}")


def _kind(value: Any) -> str:
    return f"{_kind_name(type(value))} {value!r}" if not isinstance(value, (dict, list)) else _kind_name(type(value))


def _kind_name(kind: type) -> str:
    names = {bool: "true or false", int: "a whole number", str: "text", list: "a list", dict: "a mapping", type(None): "empty"}
    return names.get(kind, kind.__name__)


def _check_values(values: dict[str, Any]) -> None:
    for key_path, check in _VALUE_CHECKS.items():
        section: Any = values
        for part in key_path.split("."):
            section = section[part]
        problem = check(section)
        if problem:
            raise SettingsError(f"{key_path}: {problem}")


def _server_name_problem(value: str) -> str | None:
    if not _SERVER_NAME.fullmatch(value):
        return f"must be a lower-case domain name such as govchat.example.gov.my, got {value!r}"
    return None


def _baseurl_problem(value: str) -> str | None:
    if value and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
        return f"must be empty or an http(s) URL such as https://govchat.example.gov.my/, got {value!r}"
    return None


def _port_problem(value: int) -> str | None:
    return None if 1 <= value <= 65535 else f"must be a port number from 1 to 65535, got {value}"


def _upload_size_problem(value: int) -> str | None:
    return None if 1 <= value <= 2048 else f"must be from 1 to 2048 megabytes, got {value}"


def _edit_window_problem(value: int) -> str | None:
    return None if 1 <= value <= 86400 else f"must be from 1 to 86400 seconds, got {value}"


def _agencies_problem(entries: list[Any]) -> str | None:
    if not entries:
        return "must list at least one agency, or nobody could register"
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"domain", "name", "ministry"}:
            return f"entry {index + 1} must have exactly the keys domain, name and ministry"
        for field in ("domain", "name", "ministry"):
            if not isinstance(entry[field], str) or not entry[field].strip():
                return f"entry {index + 1}: {field} must be non-empty text"
        domain = entry["domain"]
        if not _HOSTNAME.fullmatch(domain) or "." not in domain or domain.startswith("xn--"):
            return f"entry {index + 1}: domain must be a lower-case ASCII domain such as mampu.gov.my, got {domain!r}"
        if domain in seen:
            return f"entry {index + 1}: domain {domain} is listed twice"
        seen.add(domain)
    return None


def _server_list_problem(entries: list[Any]) -> str | None:
    for entry in entries:
        if not isinstance(entry, str) or not _SERVER_NAME.fullmatch(entry):
            return f"must list server names such as partner.gov.my, got {entry!r}"
    return None


def _notif_from_problem(value: str) -> str | None:
    if value and not re.fullmatch(r"[^<>@\n]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+", value):
        return f"must be empty or an address such as 'GovChat <noreply@example.gov.my>', got {value!r}"
    return None


def _gcmeet_domain_problem(value: str) -> str | None:
    if not _SERVER_NAME.fullmatch(value):
        return f"must be the Jitsi Meet server's lower-case domain such as meet.example.gov.my, got {value!r}"
    return None


def _gcmeet_app_id_problem(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value):
        return f"must be 1 to 64 letters, digits, dots, dashes or underscores, got {value!r}"
    return None


def _gcmeet_app_secret_problem(value: str) -> str | None:
    if value and len(value) < 32:
        return "must be empty (GovChat generates one) or at least 32 characters long"
    return None


def _gcmeet_algorithm_problem(value: str) -> str | None:
    return None if value in ("HS256", "RS256") else f"must be HS256 or RS256, got {value!r}"


def _gcmeet_audience_problem(value: str) -> str | None:
    if not value.strip() or value.strip() == "*":
        return "must name the audience Prosody accepts (asap_accepted_audiences), not be empty or '*'"
    return None


def _gcmeet_lifetime_problem(value: int) -> str | None:
    return None if 5 <= value <= 900 else f"must be from 5 to 900 seconds, got {value}"


def _gcmeet_power_level_problem(value: int) -> str | None:
    return None if 0 <= value <= 1_000_000 else f"must be a power level from 0 to 1000000, got {value}"


def _gcmeet_rate_problem(value: int) -> str | None:
    return None if 1 <= value <= 1_000_000 else f"must be from 1 to 1000000, got {value}"


def _localpart_problem(value: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9._=/-]{1,64}", value):
        return f"must be a Matrix user name of lower-case letters, digits and ._=-/, got {value!r}"
    return None


def _positive_problem(value: int) -> str | None:
    return None if 1 <= value <= 10_000 else f"must be a whole number from 1 to 10000, got {value}"


def _onboarding_problem(value: int) -> str | None:
    return None if 1 <= value <= 100_000 else f"must be a whole number from 1 to 100000, got {value}"


def _non_empty_problem(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _channel_name_problem(value: str) -> str | None:
    return None if value.strip() and len(value) <= 100 else "must be non-empty text of at most 100 characters"


def _application_heads_problem(entries: list[Any]) -> str | None:
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"domain", "user_id"}:
            return f"entry {index + 1} must have exactly the keys domain and user_id"
        domain, user_id = entry["domain"], entry["user_id"]
        if not isinstance(domain, str) or not _HOSTNAME.fullmatch(domain) or "." not in domain:
            return f"entry {index + 1}: domain must be an agency domain such as mampu.gov.my, got {domain!r}"
        if not isinstance(user_id, str) or not re.fullmatch(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.:-]+", user_id):
            return f"entry {index + 1}: user_id must be a user ID such as @ketua:govchat.localhost, got {user_id!r}"
    return None


def _review_period_problem(value: int) -> str | None:
    return None if 0 <= value <= 60 else f"must be from 0 to 60 days, got {value}"


def _reminder_days_problem(value: int) -> str | None:
    return None if 0 <= value <= 365 else f"must be from 0 to 365 days, got {value}"


def _check_interval_problem(value: int) -> str | None:
    return None if 1 <= value <= 86400 else f"must be from 1 to 86400 seconds, got {value}"


def _submissions_per_day_problem(value: int) -> str | None:
    return None if 1 <= value <= 1000 else f"must be from 1 to 1000 applications, got {value}"


def _helpdesk_email_problem(value: str) -> str | None:
    if not re.fullmatch(r"[^<>@\s]+@[^<>@\s]+", value):
        return f"must be an address such as helpdesk@example.gov.my, got {value!r}"
    return None


def _content_reports_problem(key: str) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        from synapse_modules.content_reports.config import content_reports_problem

        return content_reports_problem(key, value)

    return check


def _directory_agencies_problem(entries: list[Any]) -> str | None:
    from synapse_modules.directory.config import directory_agencies_problem

    return directory_agencies_problem(entries)


def _directory_interval_problem(value: int) -> str | None:
    from synapse_modules.directory.config import sync_interval_problem

    return sync_interval_problem(value)


def _directory_threads_problem(value: int) -> str | None:
    from synapse_modules.directory.config import lookup_threads_problem

    return lookup_threads_problem(value)


def _database_engine_problem(value: str) -> str | None:
    return None if value in ("sqlite", "postgresql") else f"must be sqlite or postgresql, got {value!r}"


def _database_host_problem(value: str) -> str | None:
    if value and not (value.startswith("/") or _HOSTNAME.fullmatch(value) or re.fullmatch(r"[0-9a-fA-F:.]+", value)):
        return f"must be empty (GovChat's own server), a host name, an address or a socket folder, got {value!r}"
    return None


def _database_identifier_problem(value: str) -> str | None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        return f"must be a lower-case PostgreSQL name of letters, digits and _, got {value!r}"
    return None


def _client_workers_problem(value: int) -> str | None:
    return None if 0 <= value <= 64 else f"must be from 0 (one process) to 64 client workers, got {value}"


_VALUE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "database.engine": _database_engine_problem,
    "database.host": _database_host_problem,
    "database.port": _port_problem,
    "database.name": _database_identifier_problem,
    "database.user": _database_identifier_problem,
    "workers.client": _client_workers_problem,
    "redis.host": _database_host_problem,
    "redis.port": _port_problem,
    "server_name": _server_name_problem,
    "bot.localpart": _localpart_problem,
    "bot.display_name": _non_empty_problem,
    "bot.rate_limit_per_minute": _positive_problem,
    "bot.rate_limit_burst": _positive_problem,
    "public_baseurl": _baseurl_problem,
    "registration.agencies": _agencies_problem,
    "registration.onboarding.per_ip_burst": _onboarding_problem,
    "registration.onboarding.per_ip_per_hour": _onboarding_problem,
    "registration.onboarding.per_address_burst": _onboarding_problem,
    "registration.onboarding.per_address_per_hour": _onboarding_problem,
    "email.smtp_port": _port_problem,
    "email.local_smtp_port": _port_problem,
    "metrics.port": _port_problem,
    "metrics.bot_port": _port_problem,
    "email.notif_from": _notif_from_problem,
    "media.max_upload_size_mb": _upload_size_problem,
    "messages.edit_window_seconds": _edit_window_problem,
    "federation.allowed_servers": _server_list_problem,
    "channels.info_name": _channel_name_problem,
    "gcmeet.domain": _gcmeet_domain_problem,
    "gcmeet.app_id": _gcmeet_app_id_problem,
    "gcmeet.app_secret": _gcmeet_app_secret_problem,
    "gcmeet.algorithm": _gcmeet_algorithm_problem,
    "gcmeet.audience": _gcmeet_audience_problem,
    "gcmeet.token_lifetime_seconds": _gcmeet_lifetime_problem,
    "gcmeet.moderator_power_level": _gcmeet_power_level_problem,
    "gcmeet.rate_limit_per_minute": _gcmeet_rate_problem,
    "gcmeet.rate_limit_burst": _gcmeet_rate_problem,
    "applications.heads": _application_heads_problem,
    "applications.review_period_days": _review_period_problem,
    "applications.reminder_days": _reminder_days_problem,
    "applications.check_interval_seconds": _check_interval_problem,
    "applications.max_submissions_per_day": _submissions_per_day_problem,
    "content_reports.poll_interval_seconds": _content_reports_problem("poll_interval_seconds"),
    "content_reports.max_reports_per_window": _content_reports_problem("max_reports_per_window"),
    "content_reports.rate_window_seconds": _content_reports_problem("rate_window_seconds"),
    "portal.helpdesk_email": _helpdesk_email_problem,
    "portal.web_client_url": _baseurl_problem,
    "directory.agencies": _directory_agencies_problem,
    "directory.sync_interval_minutes": _directory_interval_problem,
    "directory.lookup_threads": _directory_threads_problem,
}
