"""`govchat deploy-config`: every file a multi-host production layout needs, written to a folder.

For production the worker layout runs on several hosts with an external
PostgreSQL and Redis, under systemd rather than `govchat run`: the main process,
stream writer, background and media workers and nginx on the main host, client
workers spread over the worker hosts, talking over the network. This writes each
process's Synapse config (the same templates `govchat run` uses), the proxy
config, systemd units and a page saying what runs where. Nothing is started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from govchat.layout import Layout, production_layout
from govchat.postgres import synapse_database_config
from govchat.proxy import render_nginx_config
from govchat.render import Target, render_into
from govchat.secrets import ensure_gcmeet_rs256_key, ensure_secrets, ensure_signing_key
from govchat.settings import Settings, SettingsError


@dataclass(frozen=True)
class DeployPlan:
    main_host: str
    worker_hosts: list[str]
    client_workers: int
    install_dir: Path  # where the GovChat checkout and its .venv live on every host
    data_dir: Path  # GovChat's data folder on every host (media on the main host)
    listen: str  # nginx's address on the main host, e.g. 0.0.0.0:8008 behind TLS termination


def deployment_problem(settings: Settings, plan: DeployPlan) -> str | None:
    """Why this settings file cannot describe a multi-host layout, if it cannot."""
    if not settings.uses_postgresql or not settings.values["database"]["host"]:
        return "database: production on several hosts needs an external PostgreSQL (database.engine: postgresql and database.host)"
    if not settings.values["redis"]["host"]:
        return "redis.host: production on several hosts needs an external Redis"
    if plan.client_workers < 1:
        return "--client-workers: at least 1"
    if not plan.worker_hosts:
        return "--worker-host: name at least one host for the client workers"
    return None


def write_deployment(settings: Settings, plan: DeployPlan, out_dir: Path) -> Layout:
    problem = deployment_problem(settings, plan)
    if problem:
        raise SettingsError(problem)
    layout = production_layout(
        plan.main_host, plan.worker_hosts, plan.client_workers, settings.values["metrics"]["port"],
        federation=bool(settings.values["federation"]["allowed_servers"]),
    )
    synapse_dir = out_dir / "synapse"
    synapse_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    production = Settings(values=settings.values, data_dir=plan.data_dir, port=settings.port)
    rs256 = settings.values["gcmeet"]["algorithm"] == "RS256"
    # Secrets and keys are this installation's own (generated once in GOVCHAT_DATA_DIR);
    # the configs name where they will be on the hosts.
    ensure_signing_key(settings.data_dir)
    if rs256:
        ensure_gcmeet_rs256_key(settings.data_dir)
    target = Target(
        out_dir=synapse_dir,
        data_dir=plan.data_dir,
        project_root=plan.install_dir,
        secrets=ensure_secrets(settings.data_dir),
        signing_key_path=plan.data_dir / "signing.key",
        gcmeet_key_path=plan.data_dir / "gcmeet_rs256.key" if rs256 else None,
    )
    render_into(production, layout, target, synapse_database_config(production, connections_per_process=10))
    _write(synapse_dir / "prometheus.yml", _prometheus_with_hosts(layout))
    nginx_dir = out_dir / "nginx"
    nginx_dir.mkdir(exist_ok=True)
    nginx = render_nginx_config(layout, plan.listen, plan.data_dir / "nginx", settings.values["media"]["max_upload_size_mb"] * 2, run_as_root=False)
    _write(nginx_dir / "govchat.conf", nginx)
    systemd_dir = out_dir / "systemd"
    systemd_dir.mkdir(exist_ok=True)
    for process in layout.processes:
        _write(systemd_dir / f"govchat-{process.name.replace('_', '-')}.service", _unit(process.name, process.is_main, plan))
    _write(systemd_dir / "govchat.target", _TARGET)
    _write(out_dir / "HOSTS.md", _hosts_page(layout, plan, rs256))
    return layout


def _prometheus_with_hosts(layout: Layout) -> str:
    lines = ["# Prometheus targets of the production layout (written by govchat deploy-config).", "scrape_configs:"]
    lines += ["  - job_name: govchat-synapse", "    metrics_path: /_synapse/metrics", "    static_configs:"]
    for process in layout.processes:
        lines += [f'      - targets: ["{process.host}:{process.metrics_port}"]', f"        labels: {{process: {process.name}}}"]
    return "\n".join(lines) + "\n"


def _unit(name: str, is_main: bool, plan: DeployPlan) -> str:
    python = plan.install_dir / ".venv" / "bin" / "python"
    configs = [plan.data_dir / "homeserver.yaml"] + ([] if is_main else [plan.data_dir / "workers" / f"{name}.yaml"])
    app = "synapse.app.homeserver" if is_main else "synapse.app.generic_worker"
    arguments = " ".join(f"--config-path {path}" for path in configs)
    ordering = "After=network-online.target" if is_main else "After=network-online.target govchat-main.service"
    # GovChat's tables are created or upgraded once, before the main process starts.
    schema_step = f"ExecStartPre={plan.install_dir / '.venv' / 'bin' / 'govchat'} schema upgrade\n" if is_main else ""
    return f"""[Unit]
Description=GovChat Synapse {"main process" if is_main else "worker " + name}
PartOf=govchat.target
{ordering}
Wants=network-online.target

[Service]
Type=simple
User=govchat
Group=govchat
UMask=0077
WorkingDirectory={plan.data_dir}
{schema_step}ExecStart={python} -m {app} {arguments}
Environment=GOVCHAT_DATA_DIR={plan.data_dir}
Restart=always
RestartSec=2
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths={plan.data_dir}

[Install]
WantedBy=govchat.target
"""


_TARGET = """[Unit]
Description=GovChat (every Synapse process on this host)

[Install]
WantedBy=multi-user.target
"""


def _hosts_page(layout: Layout, plan: DeployPlan, rs256: bool) -> str:
    rows = [f"| {p.host} | {p.name} | {p.http.upstream()} | {p.replication.upstream() if p.replication else '-'} | {p.metrics_port} | govchat-{p.name.replace('_', '-')}.service |" for p in layout.processes]
    hosts = sorted({p.host for p in layout.processes})
    per_host = "\n".join(
        f"- `{host}`: copy `synapse/` to `{plan.data_dir}`, the units "
        + ", ".join(f"`govchat-{p.name.replace('_', '-')}.service`" for p in layout.processes if p.host == host)
        + " to `/etc/systemd/system/`, then `systemctl enable --now govchat.target`"
        for host in hosts
    )
    return f"""# GovChat production layout

Written by `govchat deploy-config`; see docs/scale-out.md. GovChat is installed at `{plan.install_dir}` (a clone
with `make .venv/.installed`) and its data is at `{plan.data_dir}` on every host; the units run as the `govchat` user.

| host | process | HTTP | replication | metrics port | unit |
| --- | --- | --- | --- | --- | --- |
{os.linesep.join(rows)}

nginx (`nginx/govchat.conf`, a whole nginx.conf: `nginx -c` it, with its folder `{plan.data_dir}/nginx`) runs on
`{plan.main_host}` and listens on `{plan.listen}`; put TLS in front of it or add it there. Replication and metrics ports must be reachable between these hosts only (firewall), never from users.

{per_host}

Copy `govchat.yaml` and `signing.key`{" and `gcmeet_rs256.key`" if rs256 else ""} from this installation's data folder to `{plan.data_dir}` on every host
(the secrets are already inside `homeserver.yaml`: keep `synapse/` owner-only). The main process's unit runs
`govchat schema upgrade` before it starts; start it first, then the workers.
"""


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
