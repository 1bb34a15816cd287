"""The reports queue, kept in Synapse's own database so that every worker sees the same thing.

- `govchat_content_reports`: one item per reported message, room or user (`subject_key`
  is unique: duplicate reports join the item), its state and what was done.
- `govchat_content_report_filings`: every Synapse report taken in, keyed by Synapse's
  table and ID, so each is taken in (and announced) exactly once, whichever process
  reads it; a held report (over the reporter's rate limit) has no item.
- `govchat_content_report_audit`: who did what, when, per item.
- `govchat_content_report_cursors`: the highest report ID taken in, per Synapse table.

SQL runs on SQLite and PostgreSQL (`?` placeholders, no auto-increment: item IDs are
random text). Taking a report in is one transaction (filing, item, audit, cursor);
every state change is a conditional UPDATE, so two administrators cannot both decide,
and an item is announced only by whoever sets its `notified_ts` first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.applications.store import AuditEntry
from synapse_modules.content_reports import rules, synapse_adapter
from synapse_modules.content_reports.synapse_adapter import RawReport

_COLUMNS = (
    "item_id, subject, subject_key, room_id, event_id, accused, event_type, event_ts, state,"
    " created_ts, updated_ts, report_count, removed_ts, application_id, notified_ts"
)
SYSTEM_ACTOR = "govchat"


@dataclass(frozen=True)
class Filing:
    reporter: str
    reason: str
    received_ts: int

    def as_dict(self) -> dict[str, Any]:
        return {"reporter": self.reporter, "reason": self.reason, "received_ts": self.received_ts}


@dataclass(frozen=True)
class Item:
    item_id: str
    subject: str
    room_id: str | None
    event_id: str | None
    accused: str | None
    event_type: str | None
    event_ts: int | None
    state: str
    created_ts: int
    updated_ts: int
    report_count: int
    removed_ts: int | None
    application_id: str | None
    notified_ts: int | None
    filings: tuple[Filing, ...] = field(default=())
    audit: tuple[AuditEntry, ...] = field(default=())

    @property
    def facts(self) -> rules.ItemFacts:
        return rules.ItemFacts(
            state=self.state, subject=self.subject, accused=self.accused,
            removed=self.removed_ts is not None, application_id=self.application_id,
        )

    @property
    def encrypted(self) -> bool:
        return rules.is_encrypted(self.event_type)


@dataclass(frozen=True)
class EventFacts:
    """What the server knows of a reported message (never its encrypted text)."""

    sender: str
    event_type: str
    origin_server_ts: int


@dataclass(frozen=True)
class Intake:
    """What taking one report in did."""

    item_id: str | None  # None: held (over the reporter's limit) or already taken in
    new_item: bool
    held: bool


class ContentReportStore:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api

    async def _run(self, desc: str, function: Any, *args: Any) -> Any:
        return await self._api.run_db_interaction(desc, function, *args)

    # --- Synapse's side ----------------------------------------------------------

    async def self_test(self) -> None:
        await self._run("govchat_content_reports_self_test", synapse_adapter.self_test)

    async def administrators(self) -> list[str]:
        return list(await self._run("govchat_content_reports_admins", synapse_adapter.active_administrators))

    async def unread_reports(self, since_ts: int, limit: int) -> list[RawReport]:
        """Reports not taken in yet, oldest first per table."""

        def select(txn: Any) -> list[RawReport]:
            txn.execute("SELECT source, last_id FROM govchat_content_report_cursors")
            cursors = {row[0]: int(row[1]) for row in txn.fetchall()}
            fresh: list[RawReport] = []
            for source in rules.SUBJECTS:
                found = synapse_adapter.read_reports(txn, source, cursors.get(source, 0), since_ts, limit)
                if not found:
                    continue
                txn.execute(
                    "SELECT report_id FROM govchat_content_report_filings WHERE source = ? AND report_id >= ?",
                    (source, found[0].report_id),
                )
                taken = {int(row[0]) for row in txn.fetchall()}
                fresh += [report for report in found if report.report_id not in taken]
            return fresh

        return list(await self._run("govchat_content_reports_unread", select))

    # --- taking reports in ---------------------------------------------------------

    async def take_in(
        self, report: RawReport, facts: EventFacts | None, accused: str | None, max_reports: int, window_ms: int, now_ms: int
    ) -> Intake:
        def take(txn: Any) -> Intake:
            txn.execute(
                "INSERT INTO govchat_content_report_filings (source, report_id, item_id, reporter, reason, received_ts, held)"
                " VALUES (?, ?, NULL, ?, ?, ?, 0) ON CONFLICT (source, report_id) DO NOTHING",
                (report.source, report.report_id, report.reporter, report.reason, report.received_ts),
            )
            if txn.rowcount != 1:
                return Intake(item_id=None, new_item=False, held=False)  # another run took it in
            _advance_cursor(txn, report.source, report.report_id)
            txn.execute(
                "SELECT COUNT(*) FROM govchat_content_report_filings WHERE reporter = ? AND held = 0"
                " AND item_id IS NOT NULL AND received_ts > ?",
                (report.reporter, report.received_ts - window_ms),
            )
            if rules.is_held(int(txn.fetchone()[0]), max_reports):
                txn.execute(
                    "UPDATE govchat_content_report_filings SET held = 1 WHERE source = ? AND report_id = ?",
                    (report.source, report.report_id),
                )
                return Intake(item_id=None, new_item=False, held=True)
            key = rules.subject_key(report.source, report.room_id, report.event_id, report.target_user_id)
            txn.execute("SELECT item_id FROM govchat_content_reports WHERE subject_key = ?", (key,))
            row = txn.fetchone()
            new_item = row is None
            if new_item:
                item_id = f"L-{secrets.token_hex(6)}"
                txn.execute(
                    f"INSERT INTO govchat_content_reports ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, NULL, NULL)",
                    (
                        item_id, report.source, key, report.room_id, report.event_id, accused,
                        facts.event_type if facts else None, facts.origin_server_ts if facts else None,
                        rules.NEW, now_ms, now_ms,
                    ),
                )
            else:
                item_id = str(row[0])
                txn.execute(
                    "UPDATE govchat_content_reports SET report_count = report_count + 1 WHERE item_id = ?", (item_id,)
                )
            txn.execute(
                "UPDATE govchat_content_report_filings SET item_id = ? WHERE source = ? AND report_id = ?",
                (item_id, report.source, report.report_id),
            )
            _audit(txn, item_id, report.received_ts, report.reporter, "reported", report.reason)
            return Intake(item_id=item_id, new_item=new_item, held=False)

        return await self._run("govchat_content_report_take_in", take)  # type: ignore[no-any-return]

    async def unannounced(self) -> list[str]:
        def select(txn: Any) -> list[str]:
            txn.execute("SELECT item_id FROM govchat_content_reports WHERE notified_ts IS NULL ORDER BY created_ts")
            return [str(row[0]) for row in txn.fetchall()]

        return list(await self._run("govchat_content_reports_unannounced", select))

    async def claim_announcement(self, item_id: str, now_ms: int) -> bool:
        """True for exactly one caller per item: whoever may announce it."""

        def update(txn: Any) -> bool:
            txn.execute(
                "UPDATE govchat_content_reports SET notified_ts = ? WHERE item_id = ? AND notified_ts IS NULL",
                (now_ms, item_id),
            )
            return bool(txn.rowcount == 1)

        return bool(await self._run("govchat_content_report_claim", update))

    # --- reading -------------------------------------------------------------------

    async def get(self, item_id: str) -> Item | None:
        def select(txn: Any) -> tuple[Any, list[Any], list[Any]] | None:
            txn.execute(f"SELECT {_COLUMNS} FROM govchat_content_reports WHERE item_id = ?", (item_id,))
            row = txn.fetchone()
            if row is None:
                return None
            txn.execute(
                "SELECT reporter, reason, received_ts FROM govchat_content_report_filings WHERE item_id = ?"
                " ORDER BY received_ts, report_id",
                (item_id,),
            )
            filings = list(txn.fetchall())
            txn.execute(
                "SELECT ts, actor, action, note FROM govchat_content_report_audit WHERE item_id = ? ORDER BY seq", (item_id,)
            )
            return row, filings, list(txn.fetchall())

        found = await self._run("govchat_content_report_get", select)
        if found is None:
            return None
        row, filings, audit = found
        return _item(
            row,
            tuple(Filing(f[0], f[1], int(f[2])) for f in filings),
            tuple(AuditEntry(int(a[0]), a[1], a[2], a[3]) for a in audit),
        )

    async def listing(self, state: str | None, limit: int) -> list[Item]:
        where, values = (" WHERE state = ?", (state,)) if state else ("", ())

        def select(txn: Any) -> list[Any]:
            txn.execute(f"SELECT {_COLUMNS} FROM govchat_content_reports{where} ORDER BY created_ts DESC LIMIT ?", (*values, limit))
            return list(txn.fetchall())

        return [_item(row) for row in await self._run("govchat_content_report_list", select)]

    async def held_count(self) -> int:
        def select(txn: Any) -> int:
            txn.execute("SELECT COUNT(*) FROM govchat_content_report_filings WHERE held = 1")
            return int(txn.fetchone()[0])

        return int(await self._run("govchat_content_report_held", select))

    async def counts(self) -> dict[str, int]:
        def select(txn: Any) -> dict[str, int]:
            txn.execute("SELECT state, COUNT(*) FROM govchat_content_reports GROUP BY state")
            return {str(row[0]): int(row[1]) for row in txn.fetchall()}

        return dict(await self._run("govchat_content_report_counts", select))

    # --- acting ----------------------------------------------------------------------

    async def transition(
        self, item_id: str, from_state: str, to_state: str, actor: str, action: str, note: str, now_ms: int,
        set_removed: bool = False, application_id: str | None = None,
    ) -> bool:
        """Move the item on if it is still in `from_state` (and not already done); False otherwise."""

        def update(txn: Any) -> bool:
            assignments = "state = ?, updated_ts = ?"
            values: list[Any] = [to_state, now_ms]
            guard = ""
            if set_removed:
                assignments += ", removed_ts = ?"
                values.append(now_ms)
                guard += " AND removed_ts IS NULL"
            if application_id is not None:
                assignments += ", application_id = ?"
                values.append(application_id)
                guard += " AND application_id IS NULL"
            txn.execute(
                f"UPDATE govchat_content_reports SET {assignments} WHERE item_id = ? AND state = ?{guard}",
                (*values, item_id, from_state),
            )
            if txn.rowcount != 1:
                return False
            _audit(txn, item_id, now_ms, actor, action, note)
            return True

        return bool(await self._run("govchat_content_report_transition", update))

    async def add_audit(self, item_id: str, actor: str, action: str, note: str, now_ms: int) -> None:
        await self._run("govchat_content_report_audit", _audit, item_id, now_ms, actor, action, note)


def _advance_cursor(txn: Any, source: str, report_id: int) -> None:
    txn.execute("SELECT last_id FROM govchat_content_report_cursors WHERE source = ?", (source,))
    row = txn.fetchone()
    if row is None:
        txn.execute("INSERT INTO govchat_content_report_cursors (source, last_id) VALUES (?, ?)", (source, report_id))
    elif int(row[0]) < report_id:
        txn.execute("UPDATE govchat_content_report_cursors SET last_id = ? WHERE source = ?", (report_id, source))


def _audit(txn: Any, item_id: str, now_ms: int, actor: str, action: str, note: str) -> None:
    # A per-item sequence keeps the trail in order even when two steps share a millisecond. The no-op
    # UPDATE first takes the item's row lock, so two writers (the intake and an administrator) cannot both
    # count the same sequence number: on PostgreSQL the later one waits or is retried by Synapse.
    txn.execute("UPDATE govchat_content_reports SET report_count = report_count WHERE item_id = ?", (item_id,))
    txn.execute("SELECT COUNT(*) FROM govchat_content_report_audit WHERE item_id = ?", (item_id,))
    seq = int(txn.fetchone()[0])
    txn.execute(
        "INSERT INTO govchat_content_report_audit (item_id, seq, ts, actor, action, note) VALUES (?, ?, ?, ?, ?, ?)",
        (item_id, seq, now_ms, actor, action, note),
    )


def _item(row: Any, filings: tuple[Filing, ...] = (), audit: tuple[AuditEntry, ...] = ()) -> Item:
    def optional(value: Any) -> int | None:
        return int(value) if value is not None else None

    return Item(
        item_id=row[0], subject=row[1], room_id=row[3], event_id=row[4], accused=row[5], event_type=row[6],
        event_ts=optional(row[7]), state=row[8], created_ts=int(row[9]), updated_ts=int(row[10]),
        report_count=int(row[11]), removed_ts=optional(row[12]), application_id=row[13], notified_ts=optional(row[14]),
        filings=filings, audit=audit,
    )
