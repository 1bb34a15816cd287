"""Starting, stopping and restarting GovChat as an operator does with `make run`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from tests.harness import REPO_ROOT, GovChatServer, free_port


def pid_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_restart_keeps_users_rooms_and_secrets_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    server = GovChatServer(data_dir=tmp_path / "data")
    server.start()
    user = server.register_plain_user(password="Simpan-Data-2026!")
    room_id = server.client_api("POST", "/createRoom", user.access_token, json={"name": "Bilik Gerakan"}).json()["room_id"]
    kept_files = {name: (server.data_dir / name).read_bytes() for name in ("secrets.yaml", "signing.key")}
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    assert children, "the launcher should have started Synapse as its child"

    assert server.stop(signal.SIGINT) == 0  # what Ctrl-C sends
    assert not any(pid_is_alive(int(child)) for child in children)
    assert port_is_free(server.port) and port_is_free(server.smtp_port)

    server.start()
    try:
        login = server.login(user.user_id, "Simpan-Data-2026!")
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        assert room_id in server.client_api("GET", "/joined_rooms", token).json()["joined_rooms"]
        # The old access token still works: the macaroon secret was kept.
        assert server.client_api("GET", "/account/whoami", user.access_token).status_code == 200
        for name, content in kept_files.items():
            assert (server.data_dir / name).read_bytes() == content
    finally:
        server.stop()


def test_first_start_prints_only_progress_and_the_banner(tmp_path: Path) -> None:
    # A newcomer's first minute: the public-channels module registers its system user (@govchat) and creates
    # INFO right after the first start; checking whether that user exists must not read as a failed login.
    server = GovChatServer(data_dir=tmp_path / "data")
    with server.running():
        info = f"/directory/room/{urllib.parse.quote(f'#info:{server.server_name}')}"
        deadline = time.monotonic() + 120
        while server.client_api("GET", info).status_code != 200:
            assert time.monotonic() < deadline, "INFO was not created after the first start"
            time.sleep(0.2)
        assert "Attempted to login" not in server.launcher_log()
        assert "Attempted to login" not in server.synapse_logs()
        # Only progress and GovChat's banner on the console: Synapse's own start-up banner stays in its log file.
        assert " - WARNING - " not in server.launcher_log()
        assert "***** STARTING SERVER *****" in server.synapse_logs()


def test_first_administrator_is_created_with_synapses_own_command(govchat: GovChatServer) -> None:
    localpart = f"pentadbir{uuid.uuid4().hex[:6]}"
    command = subprocess.run(
        [str(Path(sys.executable).parent / "register_new_matrix_user"), "-c", str(govchat.homeserver_config),
         "-u", localpart, "-p", "Pentadbir-Utama-1!", "--admin"],
        capture_output=True, text=True, timeout=60,
    )
    assert command.returncode == 0, command.stderr
    login = govchat.login(f"@{localpart}:{govchat.server_name}", "Pentadbir-Utama-1!")
    assert login.status_code == 200
    whois = govchat.request("GET", f"/_synapse/admin/v2/users/@{localpart}:{govchat.server_name}", login.json()["access_token"])
    assert whois.json()["admin"] is True


@pytest.mark.parametrize(
    ("settings_text", "key"),
    [
        ("email:\n  smtp_port: lima\n", "email.smtp_port"),
        ("registration:\n  agencis: []\n", "registration.agencis"),
        ("server_name: [oops\n", "not valid YAML"),
    ],
)
def test_broken_settings_stop_start_up_with_one_line_and_no_traceback(tmp_path: Path, settings_text: str, key: str) -> None:
    tmp_path.joinpath("govchat.yaml").write_text(settings_text)
    port = free_port()
    env = {**os.environ, "GOVCHAT_DATA_DIR": str(tmp_path), "GOVCHAT_PORT": str(port)}
    command = subprocess.run([sys.executable, "-m", "govchat", "run"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert command.returncode == 2
    lines = command.stderr.strip().splitlines()
    assert len(lines) == 1, command.stderr
    assert lines[0].startswith("govchat: ") and key in lines[0]
    assert "Traceback" not in command.stdout + command.stderr
    assert not (tmp_path / "homeserver.yaml").exists()
    assert port_is_free(port)


def test_busy_mail_port_is_reported_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as occupier:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen()
        busy_port = occupier.getsockname()[1]
        tmp_path.joinpath("govchat.yaml").write_text(f"email:\n  local_smtp_port: {busy_port}\n")
        env = {**os.environ, "GOVCHAT_DATA_DIR": str(tmp_path), "GOVCHAT_PORT": str(free_port())}
        command = subprocess.run([sys.executable, "-m", "govchat", "run"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert command.returncode == 2
    assert command.stderr.strip().splitlines() == [command.stderr.strip()]
    assert "email.local_smtp_port" in command.stderr and "Traceback" not in command.stderr


def test_ctrl_c_while_starting_stops_cleanly(tmp_path: Path) -> None:
    server = GovChatServer(data_dir=tmp_path / "data")
    server.write_settings()
    process = subprocess.Popen(
        [sys.executable, "-m", "govchat", "run"], cwd=REPO_ROOT, env=server.environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not (server.data_dir / "homeserver.yaml").exists():  # rendered: Synapse is about to start
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in out + err
    assert "GovChat is running" not in out  # it stopped starting rather than finishing first
    assert port_is_free(server.port) and port_is_free(server.smtp_port)


def test_ctrl_c_in_a_terminal_reaches_only_the_launcher_which_stops_synapse_once(tmp_path: Path) -> None:
    # A terminal's Ctrl-C signals its whole foreground process group; run GovChat as the leader of one.
    server = GovChatServer(data_dir=tmp_path / "data")
    server.write_settings()
    log_path = tmp_path / "console.log"
    with open(log_path, "wb") as console:
        process = subprocess.Popen(
            [sys.executable, "-m", "govchat", "run"], cwd=REPO_ROOT, env=server.environment(),
            stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while "GovChat is running" not in log_path.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
        children = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        # Synapse is stopped by the launcher, in order; the terminal's signal never reaches it directly.
        assert children and all(os.getpgid(child) != os.getpgid(process.pid) for child in children)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = log_path.read_text(errors="replace")
    assert "Traceback" not in output and "CRITICAL" not in output, output
    assert not any(pid_is_alive(child) for child in children)
