"""Render Synapse's own config files from GovChat's settings."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from govchat.layout import WRITER_STREAMS, Layout, SynapseProcess, worker_layout
from govchat.postgres import synapse_database_config
from govchat.secrets import ensure_gcmeet_rs256_key, ensure_secrets, ensure_signing_key
from govchat.settings import PROJECT_ROOT, Settings

TEMPLATE_DIR = PROJECT_ROOT / "config"
HOMESERVER_CONFIG_NAME = "homeserver.yaml"
LOG_CONFIG_NAME = "log.yaml"


WORKER_CONFIG_DIR = "workers"
RUN_DIR = "run"
# Unix socket paths are limited to 107 bytes.
MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class RenderedConfig:
    homeserver_config: Path
    log_config: Path
    database: dict[str, Any] = field(default_factory=dict)
    layout: Layout | None = None
    # Each worker's own file, loaded after homeserver.yaml.
    worker_configs: dict[str, Path] = field(default_factory=dict)

    def config_paths(self, process: SynapseProcess) -> list[Path]:
        if process.is_main:
            return [self.homeserver_config]
        return [self.homeserver_config, self.worker_configs[process.name]]


def layout_for(settings: Settings) -> Layout | None:
    if not settings.uses_workers:
        return None
    return worker_layout(
        settings.data_dir / RUN_DIR,
        settings.client_workers,
        settings.values["metrics"]["port"],
        federation=bool(settings.values["federation"]["allowed_servers"]),
    )


def redis_config(settings: Settings) -> dict[str, Any]:
    if settings.uses_local_redis:
        return {"enabled": True, "path": str(settings.data_dir / RUN_DIR / "redis.sock")}
    return {"enabled": True, "host": settings.values["redis"]["host"], "port": settings.values["redis"]["port"]}


@dataclass(frozen=True)
class Target:
    """Where rendered files are written, and the paths they name: the same folder for `govchat run`;
    a staging folder and the production hosts' paths for `govchat deploy-config`."""

    out_dir: Path
    data_dir: Path
    project_root: Path
    secrets: dict[str, str]
    signing_key_path: Path
    gcmeet_key_path: Path | None

    def written(self, path: Path) -> Path:
        """Where the file named `path` (under data_dir) is written."""
        return self.out_dir / path.relative_to(self.data_dir)


def render_synapse_config(settings: Settings) -> RenderedConfig:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "media_store").mkdir(exist_ok=True)
    settings.mail_dir.mkdir(exist_ok=True)
    layout = layout_for(settings)
    if layout is not None:
        _check_socket_paths(layout)
        (data_dir / RUN_DIR).mkdir(mode=0o700, exist_ok=True)
    rs256 = settings.values["gcmeet"]["algorithm"] == "RS256"
    target = Target(
        out_dir=data_dir,
        data_dir=data_dir,
        project_root=PROJECT_ROOT,
        secrets=ensure_secrets(data_dir),
        signing_key_path=ensure_signing_key(data_dir),
        gcmeet_key_path=ensure_gcmeet_rs256_key(data_dir) if rs256 else None,
    )
    rendered = render_into(settings, layout, target, synapse_database_config(settings, connections_per_process=8 if layout else 10))
    if settings.values["metrics"]["enabled"]:
        _write_atomically(data_dir / "prometheus.yml", prometheus_config(settings, layout))
    return rendered


def render_into(settings: Settings, layout: Layout | None, target: Target, database: dict[str, Any]) -> RenderedConfig:
    """homeserver.yaml, log.yaml and (worker layout) each worker's files, for `target`."""
    data_dir = target.data_dir
    log_config = data_dir / LOG_CONFIG_NAME
    homeserver_config = data_dir / HOMESERVER_CONFIG_NAME
    context = {
        "layout": layout,
        "database": database,
        "redis": redis_config(settings) if layout else None,
        "writer_streams": WRITER_STREAMS,
        "log_file": str(data_dir / "homeserver.log"),
        "data_dir": str(data_dir),
        "port": settings.port,
        "server_name": settings.server_name,
        "public_baseurl": settings.public_baseurl,
        "log_config_path": str(log_config),
        "signing_key_path": str(target.signing_key_path),
        "secrets": target.secrets,
        "federation_servers": settings.values["federation"]["allowed_servers"],
        "email": synapse_email_settings(settings),
        "max_upload_size_mb": settings.values["media"]["max_upload_size_mb"],
        "modules": govchat_modules(settings, target.secrets, target.gcmeet_key_path),
        "metrics": settings.values["metrics"],
        "metrics_host": layout.main.host if layout else "127.0.0.1",
        "template_dir": str(target.project_root / "config" / "templates"),
        "gcmeet_domain": settings.values["gcmeet"]["domain"],
        "hide_existing_accounts": settings.values["registration"]["hide_existing_accounts"],
        "onboarding_per_ip": onboarding_per_ip(settings),
    }
    environment = _jinja_environment()
    _write_atomically(target.written(log_config), environment.get_template("log.yaml.j2").render(context))
    rendered = environment.get_template("homeserver.yaml.j2").render(context)
    extra = settings.values["synapse_extra"]
    if extra:
        merged = _deep_merge(yaml.safe_load(rendered), extra)
        header = "".join(line + "\n" for line in rendered.splitlines() if line.startswith("#"))
        rendered = header + yaml.safe_dump(merged, sort_keys=False, allow_unicode=True)
    _write_atomically(target.written(homeserver_config), rendered)
    worker_configs = _render_worker_configs(environment, context, layout, target) if layout else {}
    return RenderedConfig(
        homeserver_config=homeserver_config,
        log_config=log_config,
        database=database,
        layout=layout,
        worker_configs=worker_configs,
    )


def onboarding_per_ip(settings: Settings) -> dict[str, Any]:
    """Synapse's per-client-address limits for verification mails and registrations."""
    onboarding = settings.values["registration"]["onboarding"]
    return {"per_second": onboarding["per_ip_per_hour"] / 3600, "burst_count": onboarding["per_ip_burst"]}


def prometheus_config(settings: Settings, layout: Layout | None) -> str:
    """Prometheus targets of every process GovChat runs, labelled with the process's name."""
    metrics = settings.values["metrics"]
    synapse = [("main", metrics["port"])] if layout is None else [(p.name, p.metrics_port) for p in layout.processes]
    config = {
        "global": {"scrape_interval": "15s"},
        "scrape_configs": [
            {
                "job_name": "govchat-synapse",
                "metrics_path": "/_synapse/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"process": name}} for name, port in synapse],
            },
            {"job_name": "govchat-bot", "metrics_path": "/metrics", "static_configs": [{"targets": [f"127.0.0.1:{metrics['bot_port']}"]}]},
        ],
    }
    return "# Written by GovChat at every start for the running layout (see config/prometheus.yml).\n" + yaml.safe_dump(config, sort_keys=False)


def _render_worker_configs(environment: jinja2.Environment, context: dict[str, Any], layout: Layout, target: Target) -> dict[str, Path]:
    """workers/<name>.yaml and log-<name>.yaml for every worker (the main process has homeserver.yaml)."""
    folder = target.data_dir / WORKER_CONFIG_DIR
    target.written(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = {}
    for process in layout.workers:
        log_config = folder / f"log-{process.name}.yaml"
        log_context = {**context, "log_file": str(target.data_dir / f"{process.name}.log")}
        _write_atomically(target.written(log_config), environment.get_template("log.yaml.j2").render(log_context))
        worker_context = {**context, "process": process, "log_config_path": str(log_config)}
        path = folder / f"{process.name}.yaml"
        _write_atomically(target.written(path), environment.get_template("worker.yaml.j2").render(worker_context))
        paths[process.name] = path
    return paths


def _check_socket_paths(layout: Layout) -> None:
    from govchat.settings import SettingsError

    longest = max((str(endpoint.path) for p in layout.processes for endpoint in (p.http, p.replication) if endpoint), key=len)
    if len(longest) > MAX_SOCKET_PATH:
        raise SettingsError(f"GOVCHAT_DATA_DIR: too long for the worker layout's unix sockets ({longest} is over {MAX_SOCKET_PATH} characters)")


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


def govchat_modules(settings: Settings, secrets: dict[str, str], gcmeet_key_path: Path | None) -> list[dict[str, Any]]:
    """Every GovChat Synapse module with its slice of the settings."""
    channels = settings.values["channels"]
    onboarding = settings.values["registration"]["onboarding"]
    channels_config = {
        key: channels[key] for key in ("info_mandatory", "info_name", "info_topic", "deliver_typing", "share_presence")
    }
    public_channels = [
        {"name": "synapse_modules.public_channels.PublicChannels", "config": channels_config}
    ] if channels["enabled"] else []
    applications = {
        **settings.values["applications"],
        "agencies": [agency.as_dict() for agency in settings.agencies],
        "channels_enabled": channels["enabled"],
        # A6 creates channels through the public_channels service: with that module's config, not defaults.
        "channels": channels_config,
    }
    return public_channels + [
        {
            "name": "synapse_modules.govchat_auth.GovChatAuth",
            "config": {
                "agencies": [agency.as_dict() for agency in settings.agencies],
                "mails_per_address": {key: onboarding[key] for key in ("per_address_burst", "per_address_per_hour")},
            },
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
            "config": gcmeet_module_config(settings, secrets, gcmeet_key_path),
        },
        {
            "name": "synapse_modules.applications.Applications",
            "config": applications,
        },
        {
            "name": "synapse_modules.content_reports.ContentReports",
            "config": {**settings.values["content_reports"], "applications": applications},
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


def gcmeet_module_config(settings: Settings, secrets: dict[str, str], rs256_key_path: Path | None) -> dict[str, Any]:
    """The gcmeet settings with the signing key resolved: generated once unless configured."""
    gcmeet = dict(settings.values["gcmeet"])
    if gcmeet["algorithm"] == "RS256":
        assert rs256_key_path is not None
        gcmeet["rs256_private_key_path"] = str(rs256_key_path)
        gcmeet["app_secret"] = ""
    else:
        gcmeet["app_secret"] = gcmeet["app_secret"] or secrets["gcmeet_app_secret"]
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
