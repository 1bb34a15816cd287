"""Bot-GovChat against a real homeserver, spoken to by E2EE matrix-nio users (R7)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, RoomCreateResponse, RoomMessageNotice, RoomPreset

from tests.harness import GovChatServer, User
from tests.nio_clients import close_all, e2ee_client, run, send_encrypted_text, sync_until

BOT_LOCALPART = "bot-govchat"


def bot_id(server: GovChatServer) -> str:
    return f"@{BOT_LOCALPART}:{server.server_name}"


def has_joined(client: AsyncClient, room_id: str, user_id: str) -> bool:
    room = client.rooms.get(room_id)
    return room is not None and user_id in room.users and user_id not in room.invited_users


class Notices:
    """The bot's notices a client has seen, by the event they reply to."""

    def __init__(self, client: AsyncClient, bot_user_id: str) -> None:
        self.by_question: dict[str, list[RoomMessageNotice]] = {}
        self.bot_user_id = bot_user_id
        client.add_event_callback(self._seen, RoomMessageNotice)  # type: ignore[arg-type]

    def _seen(self, room: Any, event: RoomMessageNotice) -> None:
        if event.sender != self.bot_user_id:
            return
        relates = event.source.get("content", {}).get("m.relates_to", {})
        question = relates.get("m.in_reply_to", {}).get("event_id", "")
        self.by_question.setdefault(question, []).append(event)

    def html(self, question_id: str) -> str:
        return str(self.by_question[question_id][0].source["content"].get("formatted_body", ""))


@asynccontextmanager
async def talking_to_bot(server: GovChatServer, user: User, store: Path) -> AsyncIterator[tuple[AsyncClient, Notices]]:
    """A fresh E2EE device for the user, collecting the bot's notices, closed afterwards."""
    client = await e2ee_client(server, user, store)
    try:
        yield client, Notices(client, bot_id(server))
    finally:
        await close_all(client)


async def open_direct_chat(client: AsyncClient, server: GovChatServer) -> str:
    created = await client.room_create(preset=RoomPreset.private_chat, invite=[bot_id(server)], is_direct=True)
    assert isinstance(created, RoomCreateResponse), created
    await sync_until(client, lambda: has_joined(client, created.room_id, bot_id(server)), timeout=60)
    return created.room_id


async def ask(client: AsyncClient, notices: Notices, room_id: str, question: str, timeout: float = 30) -> RoomMessageNotice:
    event_id = await send_encrypted_text(client, room_id, question)
    await sync_until(client, lambda: event_id in notices.by_question, timeout=timeout)
    return notices.by_question[event_id][0]


def test_encrypted_direct_chat_answers_numbers_free_text_unknown_and_help(govchat: GovChatServer, tmp_path: Path) -> None:
    user = govchat.register_plain_user()

    async def scenario() -> None:
        async with talking_to_bot(govchat, user, tmp_path / "user") as (client, notices):
            room_id = await open_direct_chat(client, govchat)
            assert client.rooms[room_id].encrypted

            by_number = await ask(client, notices, room_id, "pkpa bil 1 tahun 2021")
            assert "PKPA 1/2021" in by_number.body
            assert by_number.source["content"]["format"] == "org.matrix.custom.html"

            free_text = await ask(client, notices, room_id, "cyber security incident reporting")
            # Best first: the catalogue's circulars on reporting ICT / cyber security incidents.
            assert free_text.body.split("\n")[1].startswith(("1. PA 1/2001 ", "1. PA 4/2022 ")), free_text.body

            unknown = await ask(client, notices, room_id, "<script>alert(1)</script> resepi nasi lemak")
            assert "Tiada pekeliling" in unknown.body and "No matching circular" in unknown.body
            html = unknown.source["content"]["formatted_body"]
            assert "<script>" not in html and "&lt;script&gt;" in html

            help_answer = await ask(client, notices, room_id, "bantuan")
            assert "butiran PKPA 1/2021" in help_answer.body and "details" in help_answer.body

    run(scenario())


def test_group_answers_only_when_mentioned_or_commanded(govchat: GovChatServer, tmp_path: Path) -> None:
    alice, bob = govchat.register_plain_user(), govchat.register_plain_user()

    async def scenario() -> None:
        async with talking_to_bot(govchat, alice, tmp_path / "alice") as (client, notices):
            created = await client.room_create(preset=RoomPreset.private_chat, invite=[bob.user_id, bot_id(govchat)])
            assert isinstance(created, RoomCreateResponse)
            room_id = created.room_id
            assert govchat.client_api("POST", f"/rooms/{room_id}/join", bob.access_token, json={}).status_code == 200
            await sync_until(client, lambda: has_joined(client, room_id, bot_id(govchat)) and has_joined(client, room_id, bob.user_id), timeout=60)

            chatter = await send_encrypted_text(client, room_id, "pekeliling tentang pengkomputeran awan, ada sesiapa tahu?")
            mentioned = await ask(client, notices, room_id, "Bot-GovChat: pekeliling tentang pengkomputeran awan")
            assert "PKPA 1/2021" in mentioned.body
            commanded = await ask(client, notices, room_id, "!cari PKPA 2/2021")
            assert "PKPA 2/2021" in commanded.body
            assert chatter not in notices.by_question

    run(scenario())


def bot_metric_total(server: GovChatServer, prefix: str) -> float:
    """Sum of the bot's metric samples whose line starts with `prefix` (name and labels)."""
    import requests

    metrics = requests.get(f"http://127.0.0.1:{server.bot_metrics_port}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(prefix))


def bot_decisions(server: GovChatServer) -> tuple[float, float]:
    """Questions the bot has answered and questions it refused for the rate limit, so far."""
    answered = bot_metric_total(server, "govchat_bot_questions_total{")
    return answered, bot_metric_total(server, 'govchat_bot_not_answered_total{reason="rate_limited"}')


async def wait_for_bot_decisions(server: GovChatServer, answered_before: float, refused_before: float, count: int) -> tuple[int, int]:
    """(answered, refused) once the bot has decided on `count` more questions; fails after 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answered, refused = bot_decisions(server)
        if answered - answered_before + refused - refused_before >= count:
            return int(answered - answered_before), int(refused - refused_before)
        await asyncio.sleep(0.2)
    raise AssertionError(f"the bot did not decide on {count} questions within 60 s")


def test_rate_limit_gets_one_polite_answer(govchat: GovChatServer, tmp_path: Path) -> None:
    user = govchat.register_plain_user()

    async def scenario() -> None:
        async with talking_to_bot(govchat, user, tmp_path / "user") as (client, notices):
            room_id = await open_direct_chat(client, govchat)
            answered_before, refused_before = bot_decisions(govchat)
            questions = [await send_encrypted_text(client, room_id, f"PKPA {n}/2021") for n in (1, 2) * 4]
            # Wait until the bot has decided on every question (its metrics), then for every reply it owes.
            answered, refused = await wait_for_bot_decisions(govchat, answered_before, refused_before, len(questions))
            assert refused >= 1
            await sync_until(client, lambda: sum(len(notices.by_question.get(q, [])) for q in questions) >= answered + 1, timeout=60)
            answers = [notices.by_question.get(question, []) for question in questions]
            polite = [a for a in answers if a and "terlalu banyak" in a[0].body]
            assert len(polite) == 1
            # A burst of five, one polite refusal, then silence (a slow run may see one token refilled).
            assert 6 <= sum(1 for a in answers if a) < len(questions)
            assert all(len(a) <= 1 for a in answers)

    run(scenario())


def test_undecryptable_message_gets_a_hint_to_verify_the_session(govchat: GovChatServer, tmp_path: Path) -> None:
    user = govchat.register_plain_user()

    async def scenario() -> None:
        async with talking_to_bot(govchat, user, tmp_path / "user") as (client, notices):
            room_id = await open_direct_chat(client, govchat)
            garbage = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
                "sender_key": "mCwtiRkNCivSDeg5LM8SGQ9ZjuHDbQ7fVIqwQhzZ7Uo",
                "session_id": "no-such-session-" + uuid.uuid4().hex,
                "device_id": "NOSUCHDEVICE",
            }
            sent = govchat.client_api("PUT", f"/rooms/{room_id}/send/m.room.encrypted/{uuid.uuid4().hex}", user.access_token, json=garbage)
            event_id = sent.json()["event_id"]
            await sync_until(client, lambda: event_id in notices.by_question, timeout=30)
            assert "Verify your session" in notices.by_question[event_id][0].body

    run(scenario())


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with GovChatServer(data_dir=tmp_path_factory.mktemp("bot-restart")).running() as server:
        yield server


def test_restarts_of_homeserver_and_bot_never_answer_twice(restartable: GovChatServer, tmp_path: Path) -> None:
    server = restartable
    user: User = server.register_plain_user()
    store = tmp_path / "user"

    async def first_question() -> tuple[str, str]:
        async with talking_to_bot(server, user, store) as (client, notices):
            room_id = await open_direct_chat(client, server)
            question = await send_encrypted_text(client, room_id, "PKPA 1/2021")
            await sync_until(client, lambda: question in notices.by_question, timeout=60)
            return room_id, question

    room_id, first = run(first_question())

    server.stop()  # homeserver, bot and mail server together, as Ctrl-C would
    server.start()
    second = run(_ask_again(server, user, store, room_id, "SPA 4/2006"))

    bot_pid = _bot_pid(server)
    os.kill(bot_pid, signal.SIGKILL)  # the bot alone dies; the launcher brings it back
    third = run(_ask_again(server, user, store, room_id, "PKPA 2/2021", timeout=90))

    history = server.client_api("GET", f"/rooms/{room_id}/messages?dir=b&limit=100", user.access_token).json()["chunk"]
    # The bot's encrypted replies carry their reply relation in clear text.
    replies = [
        event["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        for event in history
        if event["sender"] == bot_id(server) and event["type"] == "m.room.encrypted"
    ]
    assert replies.count(first) == 1
    assert replies.count(second) == 1
    assert replies.count(third) == 1


async def _ask_again(server: GovChatServer, user: User, store: Path, room_id: str, question: str, timeout: float = 60) -> str:
    async with talking_to_bot(server, user, store) as (client, notices):  # a new device: the bot must encrypt to it too
        deadline = time.monotonic() + timeout
        event_id = await send_encrypted_text(client, room_id, question)
        await sync_until(client, lambda: event_id in notices.by_question, timeout=max(1.0, deadline - time.monotonic()))
        assert question.split()[0] in notices.by_question[event_id][0].body
        return event_id


def _bot_pid(server: GovChatServer) -> int:
    assert server.process is not None
    for child in Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split():
        if b"bots.pkpa_bot" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError("the launcher has no bot process")


# --- answers quoted from the circulars' text (issue 15) ---------------------------------------------


def bot_library_revision(server: GovChatServer) -> int:
    """The library revision the bot searches, from its metrics."""
    return int(bot_metric_total(server, "govchat_bot_library_revision "))


def wait_for_bot_library(server: GovChatServer, revision: int, timeout: float = 60) -> float:
    """Seconds until the bot searches at least this library revision; fails after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if bot_library_revision(server) >= revision:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"the bot did not pick up library revision {revision} within {timeout:.0f} s")


def current_revision(server: GovChatServer) -> int:
    return int(server.request("GET", "/_synapse/client/govchat/v1/circulars/library").json()["revision"])


def test_edit_question_is_answered_from_section_2_3_4_of_the_guideline(govchat: GovChatServer, admin: User, tmp_path: Path) -> None:
    from tests.integration.test_circulars_library import import_guideline

    imported = import_guideline(govchat, admin)
    assert imported.returncode == 0, imported.stderr
    wait_for_bot_library(govchat, current_revision(govchat))
    user = govchat.register_plain_user()

    async def scenario() -> None:
        async with talking_to_bot(govchat, user, tmp_path / "user") as (client, notices):
            room_id = await open_direct_chat(client, govchat)
            assert client.rooms[room_id].encrypted
            answer = await ask(client, notices, room_id, "berapa lama boleh edit mesej?")
            first = answer.body.split("\n")[1]
            assert "SAKP 1/2022" in first and "2.3.4" in first
            assert "lima minit" in answer.body
            html = answer.source["content"]["formatted_body"]
            assert "<blockquote>" in html and "<b>Suntingan</b>" in html
            assert "berkuat kuasa / in force" in answer.body

            about_circulars = await ask(client, notices, room_id, "pekeliling tentang pengkomputeran awan")
            assert "PKPA 1/2021" in about_circulars.body  # the list answer stays

    run(scenario())


def test_new_circular_is_answered_within_a_minute_and_a_cancelled_one_says_so(
    govchat: GovChatServer, admin: User, tmp_path: Path
) -> None:
    from tests.integration.test_circulars_library import govchat_cli

    user = govchat.register_plain_user()
    bot_before = _bot_pid(govchat)
    circular = tmp_path / "pekeliling-parkir.md"
    circular.write_text(
        "# PEKELILING UJIAN PARKIR\n\nTUJUAN\n\n1. Pekeliling ini mengatur petak parkir basikal elektrik di kompleks kerajaan.\n\n"
        "LAMPIRAN A\n\n3.2 PENGECASAN\n\nBasikal elektrik dicas di petak berbumbung berhampiran pintu utama sahaja.\n",
        encoding="utf-8",
    )

    async def scenario() -> None:
        async with talking_to_bot(govchat, user, tmp_path / "user") as (client, notices):
            room_id = await open_direct_chat(client, govchat)
            question = "di mana basikal elektrik boleh dicas?"
            before = await ask(client, notices, room_id, question)
            assert "3.2" not in before.body  # not in the library yet

            imported = govchat_cli(govchat, admin, "import", str(circular), "--id", "PKPA-5-2026", "--title", "Parkir Basikal Elektrik")
            assert imported.returncode == 0, imported.stderr
            assert wait_for_bot_library(govchat, current_revision(govchat)) < 60
            answer = await ask(client, notices, room_id, question)
            assert "PKPA 5/2026" in answer.body and "3.2" in answer.body and "petak berbumbung" in answer.body

            cancelled = govchat_cli(govchat, admin, "set-status", "PKPA-5-2026", "cancelled", "--superseded-by", "PKPA-1-2021")
            assert cancelled.returncode == 0, cancelled.stderr
            wait_for_bot_library(govchat, current_revision(govchat))
            again = await ask(client, notices, room_id, question)
            assert "dibatalkan / cancelled" in again.body and "superseded by PKPA 1/2021" in again.body

    try:
        run(scenario())
    finally:
        govchat_cli(govchat, admin, "remove", "PKPA-5-2026")
    assert _bot_pid(govchat) == bot_before  # no restart
