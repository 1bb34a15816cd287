"""The outbox's rules (back-off, giving up, one delivery per item) and the shared rate-limit buckets,
on GovChat's real schema in SQLite, with stand-ins for two Synapse processes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from govchat import schema
from synapse_modules.common import outbox
from synapse_modules.common.rate_limit import SharedTokenBucket


class FakeProcess:
    """What the outbox and buckets need from ModuleApi: the database, and mail that may fail."""

    def __init__(self, database: Path, worker_name: str | None = None) -> None:
        self._database = database
        self.worker_name = worker_name
        self.mails: list[str] = []
        self.mail_fails = False

    async def run_db_interaction(self, desc: str, function: Any, *args: Any) -> Any:
        connection = sqlite3.connect(self._database)
        try:
            with connection:
                return function(connection.cursor(), *args)
        finally:
            connection.close()

    async def send_mail(self, to: str, subject: str, html: str, text: str) -> None:
        if self.mail_fails:
            raise ConnectionRefusedError("mail server down")
        self.mails.append(to)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "homeserver.db"
    schema.upgrade_database({"name": "sqlite3", "args": {"database": str(path)}})
    return path


def outbox_on_a_clock(database: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeProcess, outbox.Outbox, list[int]]:
    """The main process's outbox, with the time it reads in `clock[0]` (advance it to pass a back-off)."""
    main = FakeProcess(database)
    box = outbox.Outbox(main)  # type: ignore[arg-type]
    clock = [10_000_000]
    monkeypatch.setattr(outbox, "now_ms", lambda: clock[0])
    return main, box, clock


def test_retry_delay_doubles_up_to_fifteen_minutes() -> None:
    assert [outbox.retry_delay_ms(n) for n in (1, 2, 3, 4)] == [5_000, 10_000, 20_000, 40_000]
    assert outbox.retry_delay_ms(50) == outbox.MAX_RETRY_MS == 15 * 60_000


def test_a_failure_is_retried_until_three_days_then_given_up() -> None:
    created = 1_000_000
    assert outbox.next_attempt_after_failure(created, 1, created + 10) == created + 10 + 5_000
    last_chance = created + outbox.GIVE_UP_AFTER_MS - 1
    assert outbox.next_attempt_after_failure(created, 40, last_chance) == last_chance + outbox.MAX_RETRY_MS
    assert outbox.next_attempt_after_failure(created, 40, created + outbox.GIVE_UP_AFTER_MS) is None


def test_two_main_processes_deliver_an_item_once(database: Path) -> None:
    first, second = FakeProcess(database), FakeProcess(database)
    a, b = outbox.Outbox(first), outbox.Outbox(second)  # type: ignore[arg-type]

    async def scenario() -> list[bool]:
        ids = await first.run_db_interaction("enqueue", outbox.enqueue_txn, [outbox.mail("siti@jpa.gov.my", "s", "<p>h</p>", "t")], outbox.now_ms())
        return list(await asyncio.gather(a.deliver(ids[0]), b.deliver(ids[0]), a.deliver(ids[0])))

    assert sorted(asyncio.run(scenario())) == [False, False, True]
    assert first.mails + second.mails == ["siti@jpa.gov.my"]


def test_a_worker_queues_and_the_main_process_delivers(database: Path) -> None:
    worker, main = FakeProcess(database, worker_name="client1"), FakeProcess(database)
    asyncio.run(outbox.Outbox(worker).enqueue([outbox.mail("ali@jpa.gov.my", "s", "h", "t")]))  # type: ignore[arg-type]
    assert worker.mails == [] and main.mails == []
    asyncio.run(outbox.Outbox(main).drain())  # type: ignore[arg-type]
    assert main.mails == ["ali@jpa.gov.my"]
    asyncio.run(outbox.Outbox(main).drain())  # type: ignore[arg-type]
    assert main.mails == ["ali@jpa.gov.my"], "delivered once"


def test_a_failed_mail_waits_for_its_back_off_then_arrives_once(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, box, clock = outbox_on_a_clock(database, monkeypatch)
    main.mail_fails = True
    asyncio.run(box.enqueue([outbox.mail("ali@jpa.gov.my", "s", "h", "t")]))
    pending = asyncio.run(box.listing(10))["pending"]
    assert [(item["attempts"], item["recipient"]) for item in pending] == [(1, "ali@jpa.gov.my")]
    assert "mail server down" in pending[0]["last_error"]
    main.mail_fails = False
    asyncio.run(box.drain())
    assert main.mails == [], "not before the back-off"
    clock[0] += outbox.FIRST_RETRY_MS
    asyncio.run(box.drain())
    asyncio.run(box.drain())
    assert main.mails == ["ali@jpa.gov.my"]
    assert asyncio.run(box.listing(10)) == {"pending": [], "given_up": []}


def test_a_given_up_mail_retried_by_an_administrator_is_delivered_once(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, box, clock = outbox_on_a_clock(database, monkeypatch)
    main.mail_fails = True
    [item_id] = asyncio.run(box.enqueue([outbox.mail("ali@jpa.gov.my", "s", "h", "t")]))
    clock[0] += outbox.GIVE_UP_AFTER_MS
    asyncio.run(box.drain())
    assert [item["id"] for item in asyncio.run(box.listing(10))["given_up"]] == [item_id]
    main.mail_fails = False
    asyncio.run(box.drain())
    assert main.mails == [], "a given-up item waits for an administrator"
    assert asyncio.run(box.retry(None)) == [item_id]
    assert main.mails == ["ali@jpa.gov.my"], "delivered at once on the main process"
    assert asyncio.run(box.retry([item_id])) == [], "a delivered item is not retried"
    asyncio.run(box.drain())
    assert main.mails == ["ali@jpa.gov.my"]


def test_a_pending_item_retried_is_delivered_now_not_after_its_back_off(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, box, clock = outbox_on_a_clock(database, monkeypatch)
    main.mail_fails = True
    [item_id] = asyncio.run(box.enqueue([outbox.mail("ali@jpa.gov.my", "s", "h", "t")]))
    main.mail_fails = False
    clock[0] += 1
    assert asyncio.run(box.retry([item_id, "no-such-item"])) == [item_id]
    assert main.mails == ["ali@jpa.gov.my"]


def test_rate_limit_holds_once_across_two_processes(database: Path) -> None:
    one = SharedTokenBucket(FakeProcess(database), "gcmeet_token", per_minute=1, burst=3)  # type: ignore[arg-type]
    two = SharedTokenBucket(FakeProcess(database), "gcmeet_token", per_minute=1, burst=3)  # type: ignore[arg-type]

    async def requests() -> list[bool]:
        return [(await bucket.allow("@siti:x")).allowed for bucket in (one, two, one, two, one, two)]

    assert asyncio.run(requests()) == [True, True, True, False, False, False]
    assert asyncio.run(one.allow("@ali:x")).allowed, "another user's bucket is separate"
