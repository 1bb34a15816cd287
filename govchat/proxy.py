"""The routing proxy of the worker layout: nginx, configured from `govchat.layout.ROUTES`.

Synapse has no routing of its own; nginx listens on GOVCHAT_PORT and sends each
request to a process that serves it. Client workers sit in pools with the main
process as a fall-back, so a client worker that died is routed around until the
launcher has restarted it. nginx also sets X-Forwarded-For, which is the only
reason Synapse may trust that header: Synapse listens on unix sockets only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import jinja2

from govchat.layout import CLIENT_PREFIX, MAIN, ROUTES, Layout

APT_HINT = "apt-get install nginx-light"
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "config"


class ProxyError(Exception):
    """One line for the operator."""


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def render_nginx_config(
    layout: Layout,
    listen: str,
    prefix: Path,
    max_body_mb: int,
    run_as_root: bool | None = None,
) -> str:
    """nginx.conf for `layout`, listening on `listen` (e.g. 127.0.0.1:8008)."""
    clients = [p.http.upstream() for p in layout.processes if p.role == "client"]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    return environment.get_template("nginx.conf.j2").render(
        listen=listen,
        prefix=str(prefix),
        run_as_root=os.geteuid() == 0 if run_as_root is None else run_as_root,
        max_body_mb=max_body_mb,
        main=layout.main.http.upstream(),
        stream_writer=layout.named("stream_writer").http.upstream(),
        media=layout.named("media").http.upstream(),
        clients=clients,
        routes=[route for route in ROUTES],
        main_name=MAIN,
        client_prefix=CLIENT_PREFIX,
    )


def nginx_command(config_path: Path, prefix: Path) -> list[str]:
    binary = find_nginx()
    if binary is None:
        raise ProxyError(f"the worker layout needs nginx as its routing proxy, which is not installed: run `{APT_HINT}`")
    return [binary, "-p", f"{prefix}/", "-c", str(config_path), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
