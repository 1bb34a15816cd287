"""Applications, their audit trail, external users' permissions and designated heads,
kept in Synapse's own database so that every worker sees the same thing.

SQL runs on SQLite and PostgreSQL (`?` placeholders, no auto-increment: IDs are
random text). An application and its audit row are written in one transaction;
every state change is a conditional UPDATE (`... WHERE state = ?`), so two
administrators approving at once cannot both succeed.
Which account holds an e-mail address comes from GovChat's own record
(`govchat_auth.store.EmailAccountStore`), never from what a user can change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from synapse.module_api import ModuleApi

from govchat.agencies import Agency
from synapse_modules.applications import workflow
from synapse_modules.govchat_auth.store import EmailAccountStore, UserAgencyStore

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS govchat_applications (
        application_id TEXT NOT NULL PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        applicant TEXT NOT NULL,
        agency_domain TEXT NOT NULL,
        agency_name TEXT NOT NULL,
        agency_ministry TEXT NOT NULL,
        form TEXT NOT NULL,
        due_ts BIGINT,
        created_ts BIGINT NOT NULL,
        updated_ts BIGINT NOT NULL,
        result TEXT NOT NULL,
        notified_ts BIGINT
    )""",
    "CREATE INDEX IF NOT EXISTS govchat_applications_applicant ON govchat_applications (applicant)",
    "CREATE INDEX IF NOT EXISTS govchat_applications_state ON govchat_applications (state, kind)",
    """CREATE TABLE IF NOT EXISTS govchat_application_audit (
        application_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        note TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS govchat_application_audit_id ON govchat_application_audit (application_id, seq)",
    """CREATE TABLE IF NOT EXISTS govchat_application_people (
        application_id TEXT NOT NULL,
        email TEXT NOT NULL,
        end_ts BIGINT NOT NULL,
        agency_domain TEXT NOT NULL,
        agency_name TEXT NOT NULL,
        agency_ministry TEXT NOT NULL,
        permitted SMALLINT NOT NULL,
        reminded_ts BIGINT,
        ended_ts BIGINT,
        PRIMARY KEY (application_id, email)
    )""",
    "CREATE INDEX IF NOT EXISTS govchat_application_people_email ON govchat_application_people (email)",
    # Submissions per applicant per UTC day (YYYY-MM-DD): the per-user limit, one conditional
    # UPDATE per submission so that parallel requests on several workers cannot overshoot it.
    """CREATE TABLE IF NOT EXISTS govchat_application_submissions (
        applicant TEXT NOT NULL,
        day TEXT NOT NULL,
        submitted INTEGER NOT NULL,
        PRIMARY KEY (applicant, day)
    )""",
    """CREATE TABLE IF NOT EXISTS govchat_application_heads (
        agency_domain TEXT NOT NULL,
        user_id TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_ts BIGINT NOT NULL,
        PRIMARY KEY (agency_domain, user_id)
    )""",
)

_COLUMNS = (
    "application_id, kind, state, applicant, agency_domain, agency_name, agency_ministry,"
    " form, due_ts, created_ts, updated_ts, result, notified_ts"
)


@dataclass(frozen=True)
class AuditEntry:
    ts: int
    actor: str
    action: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"ts": self.ts, "actor": self.actor, "action": self.action, "note": self.note}


@dataclass(frozen=True)
class Application:
    application_id: str
    kind: str
    state: str
    applicant: str
    agency: Agency
    form: dict[str, Any]
    due_ts: int | None
    created_ts: int
    updated_ts: int
    result: dict[str, Any]
    notified_ts: int | None
    audit: tuple[AuditEntry, ...] = field(default=())

    def as_dict(self, now_ms: int, review_period_days: int) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "kind": self.kind,
            "state": self.state,
            "applicant_user_id": self.applicant,
            "agency": self.agency.as_dict(),
            "applicant": self.form["applicant"],
            "details": self.form["details"],
            "created_ts": self.created_ts,
            "updated_ts": self.updated_ts,
            "waiting_for": workflow.waiting_for(self.state),
            "overdue": workflow.is_overdue(self.state, self.updated_ts, now_ms, review_period_days),
            "result": self.result,
            "notified_ts": self.notified_ts,
            "audit": [entry.as_dict() for entry in self.audit],
        }


@dataclass(frozen=True)
class Person:
    """One external user of an A4 application."""

    application_id: str
    email: str
    end_ts: int
    agency: Agency


class SubmissionLimitReached(Exception):
    """The applicant has used up today's submissions; nothing was saved."""


class ApplicationStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api
        self._schema_ready = False
        self._mailboxes = EmailAccountStore(api)
        self._agencies = UserAgencyStore(api)

    async def _run(self, desc: str, function: Any, *args: Any) -> Any:
        if not self._schema_ready:
            await self._api.run_db_interaction("govchat_applications_schema", _create_schema)
            self._schema_ready = True
        return await self._api.run_db_interaction(desc, function, *args)

    # --- applications ---------------------------------------------------------

    async def insert(self, application: Application, people_emails: Iterable[str], note: str, day: str, daily_limit: int) -> None:
        """Save a new application, counting it against the applicant's `daily_limit` for `day`.

        Raises SubmissionLimitReached (and saves nothing) once the limit is used up.
        """
        emails = list(people_emails)

        def insert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_application_submissions (applicant, day, submitted) VALUES (?, ?, 0)"
                " ON CONFLICT (applicant, day) DO NOTHING",
                (application.applicant, day),
            )
            txn.execute(
                "UPDATE govchat_application_submissions SET submitted = submitted + 1"
                " WHERE applicant = ? AND day = ? AND submitted < ?",
                (application.applicant, day, daily_limit),
            )
            if txn.rowcount != 1:
                raise SubmissionLimitReached()
            txn.execute(
                f"INSERT INTO govchat_applications ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    application.application_id, application.kind, application.state, application.applicant,
                    application.agency.domain, application.agency.name, application.agency.ministry,
                    json.dumps(application.form, ensure_ascii=False), application.due_ts, application.created_ts,
                    application.updated_ts, json.dumps(application.result), None,
                ),
            )
            for email in emails:
                txn.execute(
                    "INSERT INTO govchat_application_people (application_id, email, end_ts, agency_domain, agency_name,"
                    " agency_ministry, permitted, reminded_ts, ended_ts) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, NULL)",
                    (
                        application.application_id, email, application.due_ts or 0,
                        application.agency.domain, application.agency.name, application.agency.ministry,
                    ),
                )
            _audit(txn, application.application_id, application.created_ts, application.applicant, "submitted", note)

        await self._run("govchat_insert_application", insert)

    async def get(self, application_id: str) -> Application | None:
        def select(txn: Any) -> tuple[Any, list[Any]] | None:
            txn.execute(f"SELECT {_COLUMNS} FROM govchat_applications WHERE application_id = ?", (application_id,))
            row = txn.fetchone()
            if row is None:
                return None
            txn.execute(
                "SELECT ts, actor, action, note FROM govchat_application_audit WHERE application_id = ? ORDER BY seq",
                (application_id,),
            )
            return row, list(txn.fetchall())

        found = await self._run("govchat_get_application", select)
        if found is None:
            return None
        row, audit = found
        return _application(row, tuple(AuditEntry(int(a[0]), a[1], a[2], a[3]) for a in audit))

    async def listing(
        self, everything: bool, user_id: str, head_of: Iterable[str], state: str | None, kind: str | None, limit: int
    ) -> list[Application]:
        domains = sorted(head_of)
        clauses: list[str] = []
        values: list[Any] = []
        if not everything:
            visible = ["applicant = ?"] + (["agency_domain IN (" + ", ".join("?" for _ in domains) + ")"] if domains else [])
            clauses.append("(" + " OR ".join(visible) + ")")
            values += [user_id, *domains]
        if state:
            clauses.append("state = ?")
            values.append(state)
        if kind:
            clauses.append("kind = ?")
            values.append(kind)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""

        def select(txn: Any) -> list[Any]:
            txn.execute(f"SELECT {_COLUMNS} FROM govchat_applications{where} ORDER BY created_ts DESC LIMIT ?", (*values, limit))
            return list(txn.fetchall())

        return [_application(row) for row in await self._run("govchat_list_applications", select)]

    async def transition(
        self, application_id: str, from_state: str, to_state: str, actor: str, action: str, note: str, now_ms: int,
        result: dict[str, Any] | None = None,
    ) -> bool:
        """Move the application on if it is still in `from_state`; False if someone else got there first."""

        def update(txn: Any) -> bool:
            assignments = "state = ?, updated_ts = ?" + (", result = ?" if result is not None else "")
            values: list[Any] = [to_state, now_ms] + ([json.dumps(result)] if result is not None else [])
            txn.execute(
                f"UPDATE govchat_applications SET {assignments} WHERE application_id = ? AND state = ?",
                (*values, application_id, from_state),
            )
            if txn.rowcount != 1:
                return False
            if to_state == workflow.CARRIED_OUT:
                # External users (A4) may register from now on.
                txn.execute("UPDATE govchat_application_people SET permitted = 1 WHERE application_id = ?", (application_id,))
            _audit(txn, application_id, now_ms, actor, action, note)
            return True

        return bool(await self._run("govchat_application_transition", update))

    async def add_audit(self, application_id: str, actor: str, action: str, note: str, now_ms: int) -> None:
        await self._run("govchat_application_audit", _audit, application_id, now_ms, actor, action, note)

    async def mark_notified(self, application_id: str, note: str, now_ms: int) -> None:
        def update(txn: Any) -> None:
            txn.execute("UPDATE govchat_applications SET notified_ts = ? WHERE application_id = ?", (now_ms, application_id))
            _audit(txn, application_id, now_ms, "govchat", "notified", note)

        await self._run("govchat_application_notified", update)

    async def due_cancellations(self, now_ms: int) -> list[str]:
        def select(txn: Any) -> list[str]:
            txn.execute(
                "SELECT application_id FROM govchat_applications WHERE kind = ? AND state = ? AND due_ts <= ? ORDER BY due_ts",
                ("account_cancellation", workflow.APPROVED, now_ms),
            )
            return [row[0] for row in txn.fetchall()]

        return list(await self._run("govchat_due_cancellations", select))

    # --- external users (A4) --------------------------------------------------

    async def sponsor_for(self, email: str, now_ms: int) -> Agency | None:
        """The sponsoring agency of a permitted external address whose permission has not ended."""

        def select(txn: Any) -> Any:
            txn.execute(
                "SELECT agency_domain, agency_name, agency_ministry FROM govchat_application_people"
                " WHERE email = ? AND permitted = 1 AND ended_ts IS NULL AND end_ts > ? ORDER BY end_ts DESC LIMIT 1",
                (email, now_ms),
            )
            return txn.fetchone()

        row = await self._run("govchat_external_sponsor", select)
        return Agency(domain=row[0], name=row[1], ministry=row[2]) if row else None

    async def people_to_remind(self, now_ms: int, reminder_ms: int) -> list[Person]:
        return await self._people(
            "permitted = 1 AND ended_ts IS NULL AND reminded_ts IS NULL AND end_ts > ? AND end_ts - ? <= ?",
            (now_ms, reminder_ms, now_ms),
        )

    async def people_ended(self, now_ms: int) -> list[Person]:
        return await self._people("permitted = 1 AND ended_ts IS NULL AND end_ts <= ?", (now_ms,))

    async def _people(self, condition: str, values: tuple[Any, ...]) -> list[Person]:
        def select(txn: Any) -> list[Any]:
            txn.execute(
                "SELECT application_id, email, end_ts, agency_domain, agency_name, agency_ministry"
                f" FROM govchat_application_people WHERE {condition} ORDER BY end_ts",
                values,
            )
            return list(txn.fetchall())

        rows = await self._run("govchat_external_people", select)
        return [Person(row[0], row[1], int(row[2]), Agency(row[3], row[4], row[5])) for row in rows]

    async def mark_person(self, person: Person, column: str, now_ms: int, action: str, note: str) -> None:
        assert column in ("reminded_ts", "ended_ts")

        def update(txn: Any) -> None:
            txn.execute(
                f"UPDATE govchat_application_people SET {column} = ? WHERE application_id = ? AND email = ?",
                (now_ms, person.application_id, person.email),
            )
            _audit(txn, person.application_id, now_ms, "govchat", action, note)

        await self._run("govchat_external_person_update", update)

    async def user_for_email(self, email: str) -> str | None:
        """The account the address was bound to, from GovChat's record (it may have been deactivated since)."""
        return await self._mailboxes.account_for_email(email)

    async def agency_of_account(self, user_id: str) -> Agency | None:
        return await self._agencies.agency_of(user_id)

    async def emails_of_account(self, user_id: str) -> list[str]:
        return await self._mailboxes.emails_of_account(user_id)

    # --- heads of department --------------------------------------------------

    async def heads(self) -> list[tuple[str, str]]:
        def select(txn: Any) -> list[tuple[str, str]]:
            txn.execute("SELECT agency_domain, user_id FROM govchat_application_heads ORDER BY agency_domain, user_id")
            return [(row[0], row[1]) for row in txn.fetchall()]

        return list(await self._run("govchat_list_heads", select))

    async def head_domains(self, user_id: str) -> set[str]:
        def select(txn: Any) -> set[str]:
            txn.execute("SELECT agency_domain FROM govchat_application_heads WHERE user_id = ?", (user_id,))
            return {row[0] for row in txn.fetchall()}

        return set(await self._run("govchat_head_domains", select))

    async def add_head(self, domain: str, user_id: str, added_by: str, now_ms: int) -> None:
        def insert(txn: Any) -> None:
            txn.execute(
                "INSERT INTO govchat_application_heads (agency_domain, user_id, added_by, added_ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (agency_domain, user_id) DO NOTHING",
                (domain, user_id, added_by, now_ms),
            )

        await self._run("govchat_add_head", insert)

    async def remove_head(self, domain: str, user_id: str) -> bool:
        def delete(txn: Any) -> bool:
            txn.execute("DELETE FROM govchat_application_heads WHERE agency_domain = ? AND user_id = ?", (domain, user_id))
            return bool(txn.rowcount)

        return bool(await self._run("govchat_remove_head", delete))

    # --- metrics --------------------------------------------------------------

    async def counts(self, overdue_before_ms: int) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
        def select(txn: Any) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
            txn.execute("SELECT kind, state, COUNT(*) FROM govchat_applications GROUP BY kind, state")
            by_state = [(row[0], row[1], int(row[2])) for row in txn.fetchall()]
            txn.execute(
                "SELECT kind, COUNT(*) FROM govchat_applications WHERE state IN (?, ?) AND updated_ts < ? GROUP BY kind",
                (*workflow.WAITING_STATES, overdue_before_ms),
            )
            return by_state, [(row[0], int(row[1])) for row in txn.fetchall()]

        return await self._run("govchat_application_counts", select)  # type: ignore[no-any-return]


def _create_schema(txn: Any) -> None:
    for statement in _SCHEMA:
        txn.execute(statement)


def _audit(txn: Any, application_id: str, now_ms: int, actor: str, action: str, note: str) -> None:
    # A per-application sequence keeps the trail in order even when two steps share a millisecond.
    txn.execute("SELECT COUNT(*) FROM govchat_application_audit WHERE application_id = ?", (application_id,))
    seq = int(txn.fetchone()[0])
    txn.execute(
        "INSERT INTO govchat_application_audit (application_id, seq, ts, actor, action, note) VALUES (?, ?, ?, ?, ?, ?)",
        (application_id, seq, now_ms, actor, action, note),
    )


def _application(row: Any, audit: tuple[AuditEntry, ...] = ()) -> Application:
    return Application(
        application_id=row[0],
        kind=row[1],
        state=row[2],
        applicant=row[3],
        agency=Agency(domain=row[4], name=row[5], ministry=row[6]),
        form=json.loads(row[7]),
        due_ts=int(row[8]) if row[8] is not None else None,
        created_ts=int(row[9]),
        updated_ts=int(row[10]),
        result=json.loads(row[11]),
        notified_ts=int(row[12]) if row[12] is not None else None,
        audit=audit,
    )
