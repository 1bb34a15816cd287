"""Applications, their audit trail, external users' permissions and designated heads,
kept in Synapse's own database so that every worker sees the same thing.

SQL runs on SQLite and PostgreSQL (`?` placeholders, no auto-increment: IDs are
random text); the tables are created by `govchat/schema.py`. An application, its
audit row and the notices and mails it owes (`govchat_outbox`) are written in one
transaction; every state change is a conditional UPDATE (`... WHERE state = ?`),
so two administrators approving at once cannot both succeed. Audit sequence
numbers are unique per application: a writer that loses the race retries.
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
from synapse_modules.common.outbox import OutboxItem, enqueue_txn
from synapse_modules.common.synapse_internals import READ_COMMITTED
from synapse_modules.govchat_auth.store import EmailAccountStore, UserAgencyStore

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


AUDIT_ATTEMPTS = 5


class SubmissionLimitReached(Exception):
    """The applicant has used up today's submissions; nothing was saved."""


class ApplicationStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api
        self._mailboxes = EmailAccountStore(api)
        self._agencies = UserAgencyStore(api)

    async def _run(self, desc: str, function: Any, *args: Any, **options: Any) -> Any:
        for attempt in range(1, AUDIT_ATTEMPTS + 1):
            try:
                return await self._api.run_db_interaction(desc, function, *args, **options)
            except Exception as error:
                # A writer outside the row lock took the same audit sequence number: all rolled back; redo it.
                if type(error).__name__ not in ("IntegrityError", "UniqueViolation") or attempt == AUDIT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    # --- applications ---------------------------------------------------------

    async def insert(
        self,
        application: Application,
        people_emails: Iterable[str],
        note: str,
        day: str,
        daily_limit: int | None,
        outbox: list[OutboxItem] | None = None,
    ) -> list[str]:
        """Save a new application and queue `outbox` in the same transaction; the outbox item IDs.

        Counts it against the applicant's `daily_limit` for `day` (None: not counted, for
        cancellations administrators start from content reports): raises
        SubmissionLimitReached (and saves nothing) once the limit is used up.
        """
        emails = list(people_emails)

        def insert(txn: Any) -> list[str]:
            if daily_limit is not None:
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
            return enqueue_txn(txn, outbox or [], application.created_ts)

        # READ COMMITTED (PostgreSQL; SQLite serializes writers anyway): concurrent submissions by one
        # officer queue on the counter row's lock and the UPDATE re-checks `submitted < limit` on the row
        # the previous one committed, so each gets 201 or 429. Under Synapse's default REPEATABLE READ
        # every loser of that race failed to serialize, and after Synapse's five immediate retries the
        # request answered 500.
        return list(
            await self._run("govchat_insert_application", insert, isolation_level=READ_COMMITTED)
        )

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
        result: dict[str, Any] | None = None, outbox: list[OutboxItem] | None = None,
    ) -> list[str] | None:
        """Move the application on if it is still in `from_state`; None if someone else got there first.

        `outbox` (e.g. a deactivation) is queued only if the move happens, in the same
        transaction; the answer is the queued items' IDs.
        """

        def update(txn: Any) -> list[str] | None:
            assignments = "state = ?, updated_ts = ?" + (", result = ?" if result is not None else "")
            values: list[Any] = [to_state, now_ms] + ([json.dumps(result)] if result is not None else [])
            txn.execute(
                f"UPDATE govchat_applications SET {assignments} WHERE application_id = ? AND state = ?",
                (*values, application_id, from_state),
            )
            if txn.rowcount != 1:
                return None
            if to_state == workflow.CARRIED_OUT:
                # External users (A4) may register from now on.
                txn.execute("UPDATE govchat_application_people SET permitted = 1 WHERE application_id = ?", (application_id,))
            _audit(txn, application_id, now_ms, actor, action, note)
            return enqueue_txn(txn, outbox or [], now_ms)

        moved: list[str] | None = await self._run("govchat_application_transition", update)
        return moved

    async def add_audit(self, application_id: str, actor: str, action: str, note: str, now_ms: int) -> None:
        await self._run("govchat_application_audit", _audit, application_id, now_ms, actor, action, note)

    async def mark_notified(self, application_id: str, note: str, now_ms: int, outbox: list[OutboxItem]) -> list[str]:
        """Record that the applicant is told, and queue the telling (`outbox`) in the same transaction."""

        def update(txn: Any) -> list[str]:
            txn.execute("UPDATE govchat_applications SET notified_ts = ? WHERE application_id = ?", (now_ms, application_id))
            _audit(txn, application_id, now_ms, "govchat", "notified", note)
            return enqueue_txn(txn, outbox, now_ms)

        return list(await self._run("govchat_application_notified", update))

    async def approved_since(self, before_ts: int, kinds: tuple[str, ...]) -> list[str]:
        """Applications of these kinds still approved (not carried out) since before `before_ts`."""

        def select(txn: Any) -> list[str]:
            marks = ", ".join("?" for _ in kinds)
            txn.execute(
                f"SELECT application_id FROM govchat_applications WHERE state = ? AND kind IN ({marks}) AND updated_ts <= ?"
                " ORDER BY updated_ts",
                (workflow.APPROVED, *kinds, before_ts),
            )
            return [row[0] for row in txn.fetchall()]

        return await self._api.run_db_interaction("govchat_applications_approved_since", select)

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

    async def people_not_yet_reminded(self) -> list[Person]:
        """Candidates for a reminder; whether one is due now is `workflow.reminder_due`'s decision."""
        return await self._people("permitted = 1 AND ended_ts IS NULL AND reminded_ts IS NULL", ())

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

    async def mark_person(
        self, person: Person, column: str, now_ms: int, action: str, note: str, outbox: list[OutboxItem]
    ) -> list[str]:
        """Record a reminder or the end of a permission, queueing what it owes (`outbox`) in the same transaction."""
        assert column in ("reminded_ts", "ended_ts")

        def update(txn: Any) -> list[str]:
            txn.execute(
                f"UPDATE govchat_application_people SET {column} = ? WHERE application_id = ? AND email = ?",
                (now_ms, person.application_id, person.email),
            )
            _audit(txn, person.application_id, now_ms, "govchat", action, note)
            return enqueue_txn(txn, outbox, now_ms)

        return list(await self._run("govchat_external_person_update", update))

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


def _audit(txn: Any, application_id: str, now_ms: int, actor: str, action: str, note: str) -> None:
    # A per-application sequence keeps the trail in order even when two steps share a millisecond;
    # (application_id, seq) is unique. Writers to one trail take the application's row lock first, so on
    # PostgreSQL they queue (or fail to serialize and are retried) instead of reading the same MAX(seq).
    txn.execute("UPDATE govchat_applications SET updated_ts = updated_ts WHERE application_id = ?", (application_id,))
    txn.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM govchat_application_audit WHERE application_id = ?", (application_id,))
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
