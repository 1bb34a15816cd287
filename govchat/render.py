"""Render Synapse's own config files from GovChat's settings."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from govchat.secrets import ensure_gcmeet_rs256_key, ensure_secrets, ensure_signing_key
from govchat.settings import PROJECT_ROOT, Settings

TEMPLATE_DIR = PROJECT_ROOT / "config"
HOMESERVER_CONFIG_NAME = "homeserver.yaml"
LOG_CONFIG_NAME = "log.yaml"


@dataclass(frozen=True)
class RenderedConfig:
    homeserver_config: Path
    log_config: Path


def render_synapse_config(settings: Settings) -> RenderedConfig:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "media_store").mkdir(exist_ok=True)
    settings.mail_dir.mkdir(exist_ok=True)
    log_config = data_dir / LOG_CONFIG_NAME
    homeserver_config = data_dir / HOMESERVER_CONFIG_NAME
    context = {
        "data_dir": str(data_dir),
        "port": settings.port,
        "server_name": settings.server_name,
        "public_baseurl": settings.public_baseurl,
        "log_config_path": str(log_config),
        "signing_key_path": str(ensure_signing_key(data_dir)),
        "secrets": ensure_secrets(data_dir),
        "federation_servers": settings.values["federation"]["allowed_servers"],
        "email": synapse_email_settings(settings),
        "max_upload_size_mb": settings.values["media"]["max_upload_size_mb"],
        "modules": govchat_modules(settings),
        "metrics": settings.values["metrics"],
        "template_dir": str(TEMPLATE_DIR / "templates"),
        "gcmeet_domain": settings.values["gcmeet"]["domain"],
    }
    environment = _jinja_environment()
    _write_atomically(log_config, environment.get_template("log.yaml.j2").render(context))
    rendered = environment.get_template("homeserver.yaml.j2").render(context)
    extra = settings.values["synapse_extra"]
    if extra:
        merged = _deep_merge(yaml.safe_load(rendered), extra)
        header = "".join(line + "\n" for line in rendered.splitlines() if line.startswith("#"))
        rendered = header + yaml.safe_dump(merged, sort_keys=False, allow_unicode=True)
    _write_atomically(homeserver_config, rendered)
    return RenderedConfig(homeserver_config=homeserver_config, log_config=log_config)


def synapse_email_settings(settings: Settings) -> dict[str, Any]:
    email = settings.email
    notif_from = email["notif_from"] or f"GovChat <noreply@{settings.server_name.split(':')[0]}>"
    if settings.uses_local_mail_server:
        # The local mail server listens on loopback only and offers no TLS.
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": email["local_smtp_port"],
            "smtp_user": None,
            "smtp_pass": None,
            "require_transport_security": False,
            "enable_tls": False,
            "notif_from": notif_from,
        }
    return {
        "smtp_host": email["smtp_host"],
        "smtp_port": email["smtp_port"],
        # Synapse tries to log in whenever a user is set, even an empty one.
        "smtp_user": email["smtp_user"] or None,
        "smtp_pass": email["smtp_pass"] or None,
        "require_transport_security": email["require_transport_security"],
        "enable_tls": True,
        "notif_from": notif_from,
    }


def govchat_modules(settings: Settings) -> list[dict[str, Any]]:
    """Every GovChat Synapse module with its slice of the settings."""
    channels = settings.values["channels"]
    public_channels = [
        {
            "name": "synapse_modules.public_channels.PublicChannels",
            "config": {key: channels[key] for key in ("info_mandatory", "info_name", "info_topic")},
        }
    ] if channels["enabled"] else []
    return public_channels + [
        {
            "name": "synapse_modules.govchat_auth.GovChatAuth",
            "config": {"agencies": [agency.as_dict() for agency in settings.agencies]},
        },
        {
            "name": "synapse_modules.file_sharing.FileSharingLimits",
            "config": {"max_upload_size_mb": settings.values["media"]["max_upload_size_mb"]},
        },
        {
            "name": "synapse_modules.edit_window.EditWindow",
            "config": {"edit_window_seconds": settings.values["messages"]["edit_window_seconds"]},
        },
        {
            "name": "jitsi_jwt.GCMeet",
            "config": gcmeet_module_config(settings),
        },
        {
            "name": "synapse_modules.applications.Applications",
            "config": {
                **settings.values["applications"],
                "agencies": [agency.as_dict() for agency in settings.agencies],
                "channels_enabled": channels["enabled"],
            },
        },
        {
            "name": "synapse_modules.circulars.CircularLibrary",
            "config": {},
        },
        {
            "name": "synapse_modules.portal.Portal",
            "config": dict(settings.values["portal"]),
        },
        {
            "name": "synapse_modules.directory.GovChatDirectory",
            "config": dict(settings.values["directory"]),
        },
        {
            "name": "synapse_modules.reports.MonthlyReports",
            "config": {
                **settings.values["reports"],
                "agencies": [agency.as_dict() for agency in settings.agencies],
            },
        },
    ]


def gcmeet_module_config(settings: Settings) -> dict[str, Any]:
    """The gcmeet settings with the signing key resolved: generated once unless configured."""
    gcmeet = dict(settings.values["gcmeet"])
    if gcmeet["algorithm"] == "RS256":
        gcmeet["rs256_private_key_path"] = str(ensure_gcmeet_rs256_key(settings.data_dir))
        gcmeet["app_secret"] = ""
    else:
        gcmeet["app_secret"] = gcmeet["app_secret"] or ensure_secrets(settings.data_dir)["gcmeet_app_secret"]
    return gcmeet


def _jinja_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "w", encoding="utf-8", opener=lambda p, f: os.open(p, f, 0o600)) as handle:
        handle.write(text)
    os.replace(temporary, path)
