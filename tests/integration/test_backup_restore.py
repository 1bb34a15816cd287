"""`govchat backup` of a running GovChat and `govchat restore` into a new data folder on another port (issue 13).

The restored GovChat must be the same service: people log in with their passwords, files
download byte for byte, channels keep their owners, applications their trail, Bot-GovChat
still answers in the encrypted chat it had (its device keys came along) and meeting tokens
verify with the same keys. Runs on both layouts (SQLite's backup API, or pg_dump).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from govchat.backup import MANIFEST_NAME
from tests.conftest import TEST_SETTINGS
from tests.harness import REPO_ROOT, GovChatServer, User, free_port, free_port_block
from tests.integration.applications_helpers import fetch, official_user, submitted
from tests.integration.test_gcmeet import create_room, request_jwt
from tests.integration.test_pkpa_bot import ask, open_direct_chat, talking_to_bot
from tests.nio_clients import run

CHANNELS = "/_synapse/client/govchat/v1/channels"
SECRET_FILE_BYTES = bytes(range(256)) * 300


def govchat(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govchat", *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def upload(server: GovChatServer, user: User, content: bytes) -> str:
    answer = server.request(
        "POST", "/_matrix/media/v3/upload?filename=laporan.bin", user.access_token,
        data=content, headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["content_uri"])


def download(server: GovChatServer, user: User, mxc: str) -> bytes:
    answer = server.request("GET", f"/_matrix/client/v1/media/download/{mxc.removeprefix('mxc://')}", user.access_token)
    assert answer.status_code == 200, answer.text
    return answer.content


def channels(server: GovChatServer, admin: User) -> list[dict[str, Any]]:
    answer = server.request("GET", CHANNELS, admin.access_token)
    assert answer.status_code == 200, answer.text
    return sorted(({key: channel[key] for key in ("room_id", "alias", "owners", "info")} for channel in answer.json()["channels"]), key=str)


def test_backup_of_a_running_govchat_restores_into_a_new_data_folder_on_another_port(tmp_path: Path) -> None:
    original = GovChatServer(data_dir=tmp_path / "original", settings=dict(TEST_SETTINGS))
    backup_dir = tmp_path / "backup"
    with original.running():
        admin = original.register_admin()
        siti = official_user(original)
        owner = original.register_plain_user()
        created = original.request(
            "POST", CHANNELS, admin.access_token,
            json={"name": "Pengumuman Sandaran", "alias": f"sandaran-{uuid.uuid4().hex[:6]}", "owners": [owner.user_id]},
        )
        assert created.status_code == 200, created.text
        details = {
            "purpose": "Perunding projek / Project consultants",
            "end_date": (date.today() + timedelta(days=30)).isoformat(),
            "users": [{"name": "Perunding", "organisation": "Contoh Sdn Bhd", "position": "Perunding", "email": f"p.{uuid.uuid4().hex[:6]}@contoh.com.my"}],
        }
        application_id = submitted(original, siti, "external_users", details)
        mxc = upload(original, siti, SECRET_FILE_BYTES)
        meeting_room = create_room(original, siti)
        secret = yaml.safe_load((original.data_dir / "secrets.yaml").read_text())["gcmeet_app_secret"]
        channels_before = channels(original, admin)
        application_before = fetch(original, admin, application_id).json()
        store = tmp_path / "siti-device"

        async def first_question() -> str:
            async with talking_to_bot(original, siti, store / "before") as (client, notices):
                room_id = await open_direct_chat(client, original)
                answer = await ask(client, notices, room_id, "pkpa bil 1 tahun 2021", timeout=60)
                assert "PKPA 1/2021" in answer.body
                return room_id

        dm_room = run(first_question())
        made = govchat(original.environment(), "backup", str(backup_dir))  # while it runs
        assert made.returncode == 0, made.stderr
        assert (backup_dir / MANIFEST_NAME).exists()

    restored_dir = tmp_path / "restored"
    restored = GovChatServer(data_dir=restored_dir, port=free_port())
    done = govchat(restored.environment(), "restore", str(backup_dir))
    assert done.returncode == 0, done.stderr
    # Beside the original on one machine, the restored copy needs its own side ports.
    settings = yaml.safe_load((restored_dir / "govchat.yaml").read_text())
    settings["email"]["local_smtp_port"] = restored.smtp_port
    settings["metrics"].update({"port": free_port_block(), "bot_port": free_port()})
    (restored_dir / "govchat.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True))
    restored.settings = settings

    again = govchat(restored.environment(), "restore", str(backup_dir))
    assert again.returncode == 1 and "restore goes into a new, empty data folder only" in again.stderr

    with restored.running():
        assert restored.port != original.port
        assert restored.login(siti.user_id, siti.password).status_code == 200
        assert restored.login(admin.user_id, admin.password).status_code == 200
        admin_token = restored.login(admin.user_id, admin.password).json()["access_token"]
        admin_again = User(admin.user_id, admin.password, admin_token)
        siti_again = User(siti.user_id, siti.password, restored.login(siti.user_id, siti.password).json()["access_token"], siti.email)
        assert download(restored, siti_again, mxc) == SECRET_FILE_BYTES
        assert channels(restored, admin_again) == channels_before
        assert fetch(restored, admin_again, application_id).json()["audit"] == application_before["audit"]

        token = request_jwt(restored, siti_again, meeting_room)
        assert token.status_code == 200, token.text
        jwt.decode(token.json()["jwt"], secret, algorithms=["HS256"], audience="jitsi", issuer="govchat")

        async def same_chat_after_restore() -> None:
            async with talking_to_bot(restored, siti_again, store / "after") as (client, notices):
                assert dm_room in client.rooms and client.rooms[dm_room].encrypted
                answer = await ask(client, notices, dm_room, "pkpa bil 1 tahun 2021", timeout=90)
                assert "PKPA 1/2021" in answer.body

        run(same_chat_after_restore())


@pytest.mark.parametrize("content", ["x", None], ids=["a stray file", "a settings file"])
def test_restore_refuses_a_data_folder_that_is_not_empty(tmp_path: Path, content: str | None) -> None:
    target = tmp_path / "data"
    target.mkdir()
    (target / ("govchat.yaml" if content is None else "notes.txt")).write_text(content or "server_name: x.gov.my\n")
    (tmp_path / "backup").mkdir()
    env = {**GovChatServer(data_dir=target).environment()}
    refused = govchat(env, "restore", str(tmp_path / "backup"))
    assert refused.returncode == 1
    assert "not empty; restore goes into a new, empty data folder only (nothing was changed)" in refused.stderr
    assert sorted(path.name for path in target.iterdir()) == ["govchat.yaml" if content is None else "notes.txt"]
