"""GovChat's own SQL on both engines: the stores run against GovChat's real schema in SQLite and,
when PostgreSQL's server is installed, in a throw-away PostgreSQL 15 cluster (as Synapse runs them:
`?` placeholders turned into `%s`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govchat import schema
from govchat.agencies import Agency
from synapse_modules.applications.store import Application, ApplicationStore, SubmissionLimitReached
from synapse_modules.common import outbox
from synapse_modules.common.jobs import JobBusy, job_runs, run_exclusive
from synapse_modules.common.rate_limit import SharedTokenBucket
from synapse_modules.directory.store import DirectoryStore
from synapse_modules.public_channels.join_queue import InfoJoinQueue
from synapse_modules.reports.store import ReportStore
from tests.postgres_cluster import postgresql_bin_dir, throwaway_postgresql

GOVCHAT_TABLES = (
    "govchat_outbox", "govchat_rate_buckets", "govchat_job_leases", "govchat_job_runs", "govchat_info_joins",
    "govchat_applications", "govchat_application_audit", "govchat_application_people", "govchat_directory_names",
    "govchat_user_deactivations",
)


class PostgresCursor:
    """Synapse's LoggingTransaction turns `?` into psycopg2's `%s`; so does this."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, values: Any = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), tuple(values))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class FakeProcess:
    worker_name: str | None = None
    server_name = "govchat.test"

    def __init__(self, database: dict[str, Any], default_isolation: int | None = None) -> None:
        self._database = database
        self._default_isolation = default_isolation  # Synapse's is REPEATABLE READ (2) on PostgreSQL
        self.mails: list[str] = []
        self.background: list[str] = []

    async def run_db_interaction(self, desc: str, function: Any, *args: Any, isolation_level: int | None = None) -> Any:
        connection, dialect = schema.connect(self._database)
        level = isolation_level if isolation_level is not None else self._default_isolation
        if dialect == schema.POSTGRESQL and level is not None:
            connection.set_session(isolation_level={1: "READ COMMITTED", 2: "REPEATABLE READ", 3: "SERIALIZABLE"}[level])
        try:
            cursor = connection.cursor()
            result = function(PostgresCursor(cursor) if dialect == schema.POSTGRESQL else cursor, *args)
            connection.commit()
            return result
        except Exception:
            connection.rollback()
            raise
        finally:
            connection.close()

    async def send_mail(self, to: str, subject: str, html: str, text: str) -> None:
        self.mails.append(to)

    def run_as_background_process(self, desc: str, function: Any, *args: Any) -> None:
        self.background.append(desc)


@pytest.fixture(scope="module")
def postgresql() -> Iterator[dict[str, Any] | None]:
    with throwaway_postgresql("govchat_stores") as config:
        if config is not None:
            schema.upgrade_database(config)
        yield config


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "sqlite":
        config = {"name": "sqlite3", "args": {"database": str(tmp_path / "homeserver.db")}}
        schema.upgrade_database(config)
        return config
    if postgresql_bin_dir() is None:
        pytest.skip("PostgreSQL's server is not installed (apt-get install -y postgresql)")
    config = request.getfixturevalue("postgresql")
    connection, _ = schema.connect(config)
    with connection, connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(GOVCHAT_TABLES))
    connection.close()
    return dict(config)


def test_outbox_delivers_once_and_lists_nothing_afterwards(database: dict[str, Any]) -> None:
    main = FakeProcess(database)
    box = outbox.Outbox(main)  # type: ignore[arg-type]
    ids = asyncio.run(box.enqueue([outbox.mail("siti@jpa.gov.my", "s", "h", "t")]))
    assert main.mails == ["siti@jpa.gov.my"]
    assert asyncio.run(box.deliver(ids[0])) is False
    asyncio.run(box.drain())
    assert main.mails == ["siti@jpa.gov.my"]
    assert asyncio.run(box.listing(10)) == {"pending": [], "given_up": []}


def test_rate_bucket_is_shared(database: dict[str, Any]) -> None:
    one = SharedTokenBucket(FakeProcess(database), "b", per_minute=1, burst=2)  # type: ignore[arg-type]
    two = SharedTokenBucket(FakeProcess(database), "b", per_minute=1, burst=2)  # type: ignore[arg-type]
    answers = [asyncio.run(bucket.allow("@a:x")).allowed for bucket in (one, two, one)]
    assert answers == [True, True, False]


def test_a_held_lease_refuses_a_second_run_and_runs_are_counted(database: dict[str, Any]) -> None:
    process = FakeProcess(database)

    async def scenario() -> list[str]:
        seen: list[str] = []

        async def inner() -> str:
            seen.append("inner")
            return "done"

        async def outer() -> str:
            try:
                await run_exclusive(process, "sync", 60_000, "admin", inner)  # type: ignore[arg-type]
            except JobBusy:
                seen.append("busy")
            return "outer"

        seen.append(await run_exclusive(process, "sync", 60_000, "periodic", outer))  # type: ignore[arg-type]
        seen.append(await run_exclusive(process, "sync", 60_000, "periodic", inner))  # type: ignore[arg-type]
        return seen

    assert asyncio.run(scenario()) == ["busy", "outer", "inner", "done"]
    assert asyncio.run(job_runs(process, "sync")) == 2  # type: ignore[arg-type]


def test_info_join_queue_backs_off_and_empties(database: dict[str, Any]) -> None:
    queue = InfoJoinQueue(FakeProcess(database))  # type: ignore[arg-type]
    asyncio.run(queue.add("@a:x", 1_000))
    asyncio.run(queue.add("@a:x", 2_000))
    assert asyncio.run(queue.due(1_000, 10)) == [], "the registering process gets the first try"
    assert asyncio.run(queue.due(20_000, 10)) == ["@a:x"]
    asyncio.run(queue.failed("@a:x", "INFO does not exist yet", 20_000))
    assert asyncio.run(queue.due(20_500, 10)) == []
    assert asyncio.run(queue.due(21_000, 10)) == ["@a:x"]
    asyncio.run(queue.done("@a:x"))
    assert asyncio.run(queue.pending()) == 0


def test_application_trail_and_owed_notices_are_written_together(database: dict[str, Any]) -> None:
    process = FakeProcess(database)
    store = ApplicationStore(process)  # type: ignore[arg-type]
    application = Application(
        application_id="A4-1", kind="external_users", state="submitted", applicant="@siti:x",
        agency=Agency("mampu.gov.my", "MAMPU", "JPM"), form={"applicant": {}, "details": {}}, due_ts=5, created_ts=1,
        updated_ts=1, result={}, notified_ts=None,
    )
    queued = asyncio.run(store.insert(application, ["p@contoh.com.my"], "", "2026-11-30", 20, outbox=[outbox.notice("@head:x", "baru")]))
    assert len(queued) == 1
    assert asyncio.run(store.transition("A4-1", "submitted", "endorsed", "@head:x", "endorsed", "", 2)) == []
    assert asyncio.run(store.transition("A4-1", "submitted", "endorsed", "@head:x", "endorsed", "", 3)) is None
    owed = [outbox.deactivation("@p:x", "@admin:x")]
    assert asyncio.run(store.transition("A4-1", "endorsed", "carried_out", "@admin:x", "carried_out", "", 4, {"k": 1}, owed))
    asyncio.run(store.mark_notified("A4-1", "e-mel", 5, [outbox.mail("siti@mampu.gov.my", "s", "h", "t")]))
    found = asyncio.run(store.get("A4-1"))
    assert found is not None and found.result == {"k": 1}
    assert [entry.action for entry in found.audit] == ["submitted", "endorsed", "carried_out", "notified"]
    assert asyncio.run(store.sponsor_for("p@contoh.com.my", 0)) == Agency("mampu.gov.my", "MAMPU", "JPM")
    pending = asyncio.run(outbox.Outbox(process).listing(10))["pending"]  # type: ignore[arg-type]
    assert sorted(item["kind"] for item in pending) == ["deactivate", "mail", "notice"]


def test_directory_names_and_deactivation_times_are_upserts(database: dict[str, Any]) -> None:
    process = FakeProcess(database)
    names = DirectoryStore(process)  # type: ignore[arg-type]
    asyncio.run(names.record_name("@a:x", "a@mampu.gov.my", "Ali", True, 1))
    asyncio.run(names.record_name("@a:x", "a@mampu.gov.my", "Ali bin Abu", True, 2))
    assert asyncio.run(names.locked_name("@a:x")) == "Ali bin Abu"
    reports = ReportStore(process)  # type: ignore[arg-type]
    for deactivated in (True, True, False, True):
        asyncio.run(reports.record_deactivation("@a:x", deactivated, 7))


def test_concurrent_audit_writers_get_unique_sequence_numbers(database: dict[str, Any]) -> None:
    if database["name"] != "psycopg2":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    import threading

    store = ApplicationStore(FakeProcess(database))  # type: ignore[arg-type]
    application = Application(
        application_id="A6-1", kind="public_channel", state="submitted", applicant="@siti:x",
        agency=Agency("mampu.gov.my", "MAMPU", "JPM"), form={"applicant": {}, "details": {}}, due_ts=None, created_ts=1,
        updated_ts=1, result={}, notified_ts=None,
    )
    asyncio.run(store.insert(application, [], "", "2026-11-30", 20))

    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for index in range(15):
                asyncio.run(store.add_audit("A6-1", name, "note", str(index), 2))
        except BaseException as error:  # a thread's exception would otherwise vanish
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(f"@w{n}:x",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    found = asyncio.run(store.get("A6-1"))
    assert found is not None and len(found.audit) == 1 + 45


def test_a_running_job_keeps_renewing_its_lease(database: dict[str, Any]) -> None:
    from synapse_modules.common import jobs

    process = FakeProcess(database)
    finished: list[bool] = []
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            finished.append(True)

    process.sleep = sleep  # type: ignore[attr-defined]

    async def scenario() -> list[tuple[Any, ...]]:
        await process.run_db_interaction("take", jobs._take_lease, "sync", "main/a", 0, 1_000)
        await jobs._keep_renewing(process, "sync", "main/a", 60_000, finished)  # type: ignore[arg-type]
        return list(await process.run_db_interaction("read", lambda txn: (txn.execute("SELECT expires_ts FROM govchat_job_leases"), txn.fetchall())[1]))

    expires = asyncio.run(scenario())
    assert sleeps == [20.0, 20.0, 20.0]
    assert int(expires[0][0]) > 1_000, "renewed past the first expiry"


def test_concurrent_submissions_by_one_officer_are_counted_without_errors(database: dict[str, Any]) -> None:
    if database["name"] != "psycopg2":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    import threading
    import uuid

    # As Synapse runs transactions on PostgreSQL: REPEATABLE READ unless the caller asks otherwise.
    store = ApplicationStore(FakeProcess(database, default_isolation=2))  # type: ignore[arg-type]
    applicant = f"@siti.{uuid.uuid4().hex[:6]}:x"
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def submitter(thread: int) -> None:
        for index in range(4):
            application = Application(
                application_id=f"A6-{thread}-{index}-{uuid.uuid4().hex[:6]}", kind="public_channel", state="submitted",
                applicant=applicant, agency=Agency("mampu.gov.my", "MAMPU", "JPM"), form={"applicant": {}, "details": {}},
                due_ts=None, created_ts=1, updated_ts=1, result={}, notified_ts=None,
            )
            try:
                asyncio.run(store.insert(application, [], "", "2026-11-30", 20))
                outcomes.append("saved")
            except SubmissionLimitReached:
                outcomes.append("limit")
            except BaseException as error:  # a thread's exception would otherwise vanish
                failures.append(error)

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(outcomes) == ["limit"] * 4 + ["saved"] * 20
