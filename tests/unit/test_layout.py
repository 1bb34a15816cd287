"""The worker layout's generated configs and routing table, checked without starting anything."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from synapse.config.homeserver import HomeServerConfig

from govchat.layout import MAIN, ROUTES, TARGETS, target_for
from govchat.proxy import find_nginx, render_nginx_config
from govchat.render import render_synapse_config
from govchat.settings import PROJECT_ROOT as REPO_ROOT
from govchat.settings import SettingsError, load_settings


def worker_settings(data_dir: Path, clients: int = 2, **extra: object) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = {"database": {"engine": "postgresql"}, "workers": {"client": clients}, **extra}
    (data_dir / "govchat.yaml").write_text(yaml.safe_dump(settings))


def test_the_default_stays_one_process_on_sqlite(tmp_path: Path) -> None:
    rendered = render_synapse_config(load_settings(tmp_path, 8008))
    config = yaml.safe_load(rendered.homeserver_config.read_text())
    assert rendered.layout is None and rendered.worker_configs == {}
    assert config["database"]["name"] == "sqlite3"
    assert "instance_map" not in config and "redis" not in config


def test_workers_without_postgresql_are_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "govchat.yaml").write_text(yaml.safe_dump({"workers": {"client": 2}}))
    with pytest.raises(SettingsError, match=r"^workers.client: .*postgresql"):
        load_settings(tmp_path, 8008)


@pytest.mark.parametrize("value", [-1, 65, True, "2"])
def test_a_wrong_number_of_client_workers_is_refused(tmp_path: Path, value: object) -> None:
    (tmp_path / "govchat.yaml").write_text(yaml.safe_dump({"database": {"engine": "postgresql"}, "workers": {"client": value}}))
    with pytest.raises(SettingsError, match=r"^workers.client: "):
        load_settings(tmp_path, 8008)


def test_an_unknown_database_engine_is_refused(tmp_path: Path) -> None:
    (tmp_path / "govchat.yaml").write_text(yaml.safe_dump({"database": {"engine": "mysql"}}))
    with pytest.raises(SettingsError, match=r"^database.engine: must be sqlite or postgresql"):
        load_settings(tmp_path, 8008)


def test_every_process_config_passes_synapses_own_config_checker(tmp_path: Path) -> None:
    worker_settings(tmp_path, clients=3)
    rendered = render_synapse_config(load_settings(tmp_path, 8008))
    assert rendered.layout is not None
    names = [process.name for process in rendered.layout.processes]
    assert names == ["main", "stream_writer", "client1", "client2", "client3", "background", "media"]
    for process in rendered.layout.processes:
        arguments = []
        for path in rendered.config_paths(process):
            arguments += ["--config-path", str(path)]
        config = HomeServerConfig.load_config("GovChat layout test", arguments)
        assert config.worker.worker_name == (None if process.is_main else process.name)
        assert config.worker.run_background_tasks == (process.name == "background")
        assert config.database.databases[0].config["name"] == "psycopg2"
        assert config.redis.redis_enabled
        # Every process reaches the others' replication listeners and writes only its own streams.
        # (Synapse calls the main process "master" in some processes.)
        assert set(config.worker.instance_map) - {"main", "master"} == {"stream_writer", "media"}
        assert set(config.worker.instance_map) & {"main", "master"}
        assert config.worker.writers.events == ["stream_writer"]
        assert config.worker.writers.typing == ["stream_writer"]
        assert config.media.can_load_media_repo == (process.name == "media")


def test_worker_metrics_ports_do_not_collide_with_each_other_or_the_bot(tmp_path: Path) -> None:
    worker_settings(tmp_path, clients=4, metrics={"port": 9000, "bot_port": 9001})
    rendered = render_synapse_config(load_settings(tmp_path, 8008))
    assert rendered.layout is not None
    ports = [process.metrics_port for process in rendered.layout.processes]
    assert ports[0] == 9000 and 9001 not in ports
    assert len(set(ports)) == len(ports)


# Paths the suite and the clients use, and who must answer them: endpoints that only
# the main process serves (Synapse's docs/workers.md) must never reach a worker.
MAIN_ONLY = [
    "/_matrix/client/v3/register/email/requestToken",
    "/_matrix/client/v3/account/3pid/email/requestToken",
    "/_matrix/client/v3/account/3pid/add",
    "/_matrix/client/v3/account/3pid/delete",
    "/_matrix/client/v3/account/3pid/bind",
    "/_matrix/client/v3/account/password",
    "/_matrix/client/v3/account/password/email/requestToken",
    "/_synapse/admin/v1/register",
    "/_synapse/admin/v2/users/@a:govchat.localhost",
    "/_synapse/admin/v1/deactivate/@a:govchat.localhost",
    "/_synapse/client/govchat/v1/channels",
    "/_synapse/client/govchat/v1/applications",
    "/_synapse/client/govchat/portal",
    "/_synapse/client/password_reset/email/submit_token",
    "/_matrix/client/v3/logout",
    "/_matrix/client/v3/pushrules/global/",
    "/_matrix/client/v3/presence/@a:govchat.localhost/status",
    "/health",
]


@pytest.mark.parametrize("path", MAIN_ONLY)
def test_main_only_endpoints_route_to_the_main_process(path: str) -> None:
    assert target_for(path) == MAIN


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/_matrix/client/v3/sync", "client_sync"),
        ("/_matrix/client/v3/rooms/!r:s/messages", "client_room"),
        ("/_matrix/client/v3/rooms/!r:s/send/m.room.message/t1", "client"),
        ("/_matrix/client/v3/rooms/!r:s/state/m.room.member/@a:s", "client"),
        ("/_matrix/client/v3/register", "client"),
        ("/_matrix/client/v3/login", "client"),
        ("/_matrix/client/v3/keys/upload", "client"),
        ("/_synapse/client/govchat/v1/gcmeet/token", "client"),
        ("/_matrix/client/v3/rooms/!r:s/typing/@a:s", "stream_writer"),
        ("/_matrix/client/v3/sendToDevice/m.room.encrypted/t1", "stream_writer"),
        ("/_matrix/client/v3/rooms/!r:s/receipt/m.read/$e", "stream_writer"),
        ("/_matrix/client/v3/user/@a:s/account_data/m.direct", "stream_writer"),
        ("/_matrix/media/v3/upload", "media"),
        ("/_matrix/client/v1/media/download/s/x", "media"),
        ("/_synapse/replication/send_event/x", "deny"),
    ],
)
def test_worker_endpoints_route_to_a_process_that_serves_them(path: str, target: str) -> None:
    assert target_for(path) == target


def test_every_route_names_a_known_target() -> None:
    assert {route.target for route in ROUTES} <= set(TARGETS)


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_the_generated_proxy_config_is_valid_nginx(tmp_path: Path) -> None:
    worker_settings(tmp_path / "d")
    rendered = render_synapse_config(load_settings(tmp_path / "d", 8008))
    assert rendered.layout is not None
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    config = prefix / "nginx.conf"
    config.write_text(render_nginx_config(rendered.layout, "127.0.0.1:8008", prefix, 200))
    for route in ROUTES:
        assert f'location ~ "{route.pattern}"' in config.read_text()
    nginx = find_nginx()
    assert nginx is not None
    result = subprocess.run([nginx, "-t", "-p", f"{prefix}/", "-c", str(config), "-e", str(prefix / "error.log")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    shutil.rmtree(prefix)


def test_prometheus_scrapes_every_process_of_the_running_layout(tmp_path: Path) -> None:
    worker_settings(tmp_path, clients=2, metrics={"port": 9000, "bot_port": 9001})
    render_synapse_config(load_settings(tmp_path, 8008))
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    synapse = config["scrape_configs"][0]["static_configs"]
    scraped = {entry["labels"]["process"]: entry["targets"][0] for entry in synapse}
    assert scraped == {
        "main": "127.0.0.1:9000",
        "stream_writer": "127.0.0.1:9010",
        "background": "127.0.0.1:9011",
        "media": "127.0.0.1:9012",
        "client1": "127.0.0.1:9013",
        "client2": "127.0.0.1:9014",
    }
    # And each of those is what the process's own config listens on.
    for process, target in scraped.items():
        path = tmp_path / ("homeserver.yaml" if process == "main" else f"workers/{process}.yaml")
        listeners = yaml.safe_load(path.read_text()).get("listeners" if process == "main" else "worker_listeners")
        assert any(item.get("type") == "metrics" and f"127.0.0.1:{item['port']}" == target for item in listeners)


def test_deploy_config_writes_a_multi_host_layout_synapse_and_nginx_accept(tmp_path: Path) -> None:
    from govchat.deploy import DeployPlan, write_deployment

    source = tmp_path / "source"
    source.mkdir()
    settings = {"database": {"engine": "postgresql", "host": "db.internal", "password": "rahsia"}, "redis": {"host": "redis.internal"}}
    (source / "govchat.yaml").write_text(yaml.safe_dump(settings))
    out = tmp_path / "out"
    # The hosts' data folder is the staging folder itself here, so every path the configs name exists.
    plan = DeployPlan("10.1.0.1", ["10.1.0.2", "10.1.0.3"], 3, REPO_ROOT, out / "synapse", "0.0.0.0:8008")
    layout = write_deployment(load_settings(source, 8008), plan, out)
    shutil.copy(source / "signing.key", out / "synapse" / "signing.key")

    assert [(p.name, p.host) for p in layout.processes if p.role == "client"] == [("client1", "10.1.0.2"), ("client2", "10.1.0.3"), ("client3", "10.1.0.2")]
    for process in layout.processes:
        paths = [out / "synapse" / "homeserver.yaml"] + ([] if process.is_main else [out / "synapse" / "workers" / f"{process.name}.yaml"])
        config = HomeServerConfig.load_config("deploy-config test", [arg for path in paths for arg in ("--config-path", str(path))])
        assert config.database.databases[0].config["args"]["host"] == "db.internal"
        assert config.redis.redis_host == "redis.internal"
        assert config.worker.instance_map["stream_writer"].host == "10.1.0.1"  # type: ignore[union-attr]
        http = [listener for listener in config.server.listeners if "client" in str(listener.http_options)] if process.is_main else config.worker.worker_listeners
        assert any(getattr(listener, "bind_addresses", None) == [process.host] for listener in http), process.name
        unit = (out / "systemd" / f"govchat-{process.name.replace('_', '-')}.service").read_text()
        assert f"--config-path {paths[-1]}" in unit and "Restart=always" in unit
    assert "db.internal" not in (out / "nginx" / "govchat.conf").read_text()
    assert "server 10.1.0.3:8091" in (out / "nginx" / "govchat.conf").read_text()


def test_deploy_config_refuses_the_local_database_and_redis(tmp_path: Path) -> None:
    from govchat.deploy import DeployPlan, write_deployment

    worker_settings(tmp_path / "source")
    plan = DeployPlan("10.1.0.1", ["10.1.0.2"], 2, Path("/opt/govchat"), Path("/var/lib/govchat"), "0.0.0.0:8008")
    with pytest.raises(SettingsError, match="external PostgreSQL"):
        write_deployment(load_settings(tmp_path / "source", 8008), plan, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_postgresql_names_the_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from govchat import postgres

    monkeypatch.setattr(postgres, "find_server_binaries", lambda: None)
    server = postgres.LocalPostgres(data_dir=tmp_path, port=5432, database="govchat", user="govchat")
    with pytest.raises(postgres.PostgresError, match=r"run `apt-get install postgresql`"):
        server.prepare()


def test_a_missing_nginx_names_the_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from govchat import proxy

    monkeypatch.setattr(proxy, "find_nginx", lambda: None)
    with pytest.raises(proxy.ProxyError, match=r"run `apt-get install nginx-light`"):
        proxy.nginx_command(tmp_path / "nginx.conf", tmp_path)


def test_a_missing_redis_stops_start_up_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from govchat import launcher

    worker_settings(tmp_path)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None if name == "redis-server" else shutil.which(name))
    with pytest.raises(launcher.StartupError, match=r"run `apt-get install redis-server`"):
        launcher._start_local_redis(load_settings(tmp_path, 8008), lambda service: service)
