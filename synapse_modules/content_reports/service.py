"""Taking reports in, announcing them, and acting on them: the glue between `rules`, the
store, Synapse and the applications module (A5 cancellations)."""

from __future__ import annotations

import logging
import time
from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.applications.service import ApplicationError, ApplicationService
from synapse_modules.common import outbox
from synapse_modules.common.channels import CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY, marker_from_content
from synapse_modules.common.http import RequestRefused
from synapse_modules.content_reports import messages, metrics, rules, synapse_adapter
from synapse_modules.content_reports.config import ContentReportsConfig
from synapse_modules.content_reports.store import SYSTEM_ACTOR, ContentReportStore, EventFacts, Item
from synapse_modules.content_reports.synapse_adapter import RawReport

logger = logging.getLogger(__name__)

WEB_PREFIX = "/_synapse/client/govchat/content-reports"
# How far back (by Synapse's received_ts) each run looks again for reports committed out of ID order.
LOOKBACK_MS = 5 * 60 * 1000
BATCH = 500
MAX_NOTE = 2000


def now_ms() -> int:
    return int(time.time() * 1000)


class ReportError(RequestRefused):
    """A content-report request refused."""


NOT_FOUND = ReportError(404, "M_NOT_FOUND", "Tiada laporan sedemikian. / There is no such report.")


def parse_note(body: Any, required: bool) -> str:
    if not isinstance(body, dict):
        raise ReportError(400, "M_BAD_JSON", "Kandungan permintaan mesti objek JSON. / The request body must be a JSON object.", "body")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise ReportError(
            400, "M_INVALID_PARAM",
            f"Medan note mesti teks hingga {MAX_NOTE} aksara. / The note field must be text of at most {MAX_NOTE} characters.",
            "note",
        )
    if required and not note.strip():
        raise ReportError(400, "M_MISSING_PARAM", "Medan note (catatan) wajib diisi. / The note field is required.", "note")
    return note.strip()


class ContentReportService:
    def __init__(
        self, api: ModuleApi, config: ContentReportsConfig, store: ContentReportStore, applications: ApplicationService
    ) -> None:
        self._api = api
        self._config = config
        self.store = store
        self._applications = applications
        self._outbox = outbox.outbox_for(api)
        self._intake_checked = False
        self._intake_failure_logged = False

    # --- taking reports in (background-tasks process only) ------------------------------

    async def run_intake(self) -> None:
        if not self._intake_checked:
            try:
                await self.store.self_test()
            except Exception:
                metrics.INTAKE_UP.set(0)
                if not self._intake_failure_logged:  # once, not every poll; the check is retried each poll
                    logger.error(
                        "content_reports: Synapse's report tables are not as expected (Synapse upgraded?); "
                        "reports are NOT being taken in. Check content_reports/synapse_adapter.py", exc_info=True,
                    )
                    self._intake_failure_logged = True
                return
            self._intake_checked = True
            metrics.INTAKE_UP.set(1)
        now = now_ms()
        for report in await self.store.unread_reports(now - LOOKBACK_MS, BATCH):
            await self._take_in(report, now)
        for item_id in await self.store.unannounced():
            await self._announce(item_id)
        await self.refresh_metrics()

    async def _take_in(self, report: RawReport, now: int) -> None:
        facts: EventFacts | None = None
        accused: str | None = None
        if report.source == rules.EVENT and report.event_id:
            event = await synapse_adapter.fetch_event(self._api, report.event_id)
            if event is not None and event.room_id == report.room_id:
                facts = EventFacts(sender=event.sender, event_type=event.type, origin_server_ts=event.origin_server_ts)
                accused = event.sender if self._api.is_mine(event.sender) else None
        elif report.source == rules.USER and report.target_user_id and self._api.is_mine(report.target_user_id):
            accused = report.target_user_id
        intake = await self.store.take_in(
            report, facts, accused, self._config.max_reports_per_window, self._config.rate_window_seconds * 1000, now
        )
        if intake.item_id is None and not intake.held:
            return  # taken in before
        outcome = "held" if intake.held else ("new" if intake.new_item else "grouped")
        metrics.RECEIVED.labels(subject=report.source, outcome=outcome).inc()
        if intake.held:
            logger.info("content_reports: held report %s/%d from %s (over the rate limit)", report.source, report.report_id, report.reporter)

    async def _announce(self, item_id: str) -> None:
        if not await self.store.claim_announcement(item_id, now_ms()):
            return  # announced by someone else
        item = await self.store.get(item_id)
        if item is None:
            return
        first = item.filings[0] if item.filings else None
        reporter, reason = (first.reporter, first.reason) if first else ("-", "")
        room_name = await self.room_name(item.room_id)
        room_people, channel = await self._room_people(item)
        told = rules.recipients(await self.store.administrators(), room_people, item.accused, [f.reporter for f in item.filings])
        admin_text = messages.for_administrators(item, room_name, reporter, reason, self.link(item_id))
        people_text = messages.for_room_people(item, room_name, reason, channel)
        owed = [outbox.notice(user_id, admin_text) for user_id in sorted(told.administrators)]
        owed += [outbox.notice(user_id, people_text) for user_id in sorted(told.room_people)]
        # Server notices are main-process work and may fail: queued, retried until delivered (the
        # intake runs on the background-tasks process, which cannot send them itself).
        await self._outbox.enqueue(owed)
        told_ids = [item.payload["user_id"] for item in owed]
        await self.store.add_audit(item_id, SYSTEM_ACTOR, "announced", ", ".join(told_ids) or "-", now_ms())

    async def _room_people(self, item: Item) -> tuple[set[str], bool]:
        """A channel's owners, or a room's moderators, who may act on a reported message; and whether it is a channel."""
        if item.subject != rules.EVENT or not item.room_id or not self._config.notify_room_moderators:
            return set(), False
        try:
            state = await self._api.get_room_state(item.room_id)
        except Exception:
            logger.warning("content_reports: could not read the state of %s", item.room_id, exc_info=True)
            return set(), False
        marker = state.get((CHANNEL_MARKER_EVENT_TYPE, CHANNEL_MARKER_STATE_KEY))
        if marker is not None:
            return {user for user in marker_from_content(marker.content).owners if self._api.is_mine(user)}, True
        joined = [
            key[1] for key, event in state.items()
            if key[0] == "m.room.member" and event.content.get("membership") == "join" and self._api.is_mine(key[1])
        ]
        levels, needed = synapse_adapter.moderation_levels(state, joined)
        return rules.moderators(levels, needed) if levels else set(), False

    async def room_name(self, room_id: str | None) -> str:
        if not room_id:
            return "-"
        try:
            state = await self._api.get_room_state(room_id, [("m.room.name", ""), ("m.room.canonical_alias", "")])
        except Exception:
            return room_id
        name = state.get(("m.room.name", ""))
        if name is not None and isinstance(name.content.get("name"), str) and name.content["name"]:
            return str(name.content["name"])
        alias = state.get(("m.room.canonical_alias", ""))
        if alias is not None and isinstance(alias.content.get("alias"), str):
            return str(alias.content["alias"])
        return room_id

    def link(self, item_id: str) -> str:
        return f"{self._api.public_baseurl.rstrip('/')}{WEB_PREFIX}/{item_id}"

    async def refresh_metrics(self) -> None:
        if not self._api.should_run_background_tasks():
            return
        try:
            metrics.publish(await self.store.counts(), await self.store.held_count())
        except Exception:
            logger.warning("content_reports: could not refresh metrics", exc_info=True)

    # --- reading --------------------------------------------------------------------

    async def listing(self, state: str | None, limit: int) -> list[Item]:
        if state is not None and state not in rules.STATES:
            raise ReportError(
                400, "M_INVALID_PARAM",
                f"Parameter state mesti salah satu daripada {', '.join(rules.STATES)}. / "
                f"The state parameter must be one of {', '.join(rules.STATES)}.",
                "state",
            )
        return await self.store.listing(state, limit)

    async def item(self, item_id: str) -> Item:
        item = await self.store.get(item_id)
        if item is None:
            raise NOT_FOUND
        return item

    async def present(self, item: Item, full: bool = True) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "item_id": item.item_id,
            "subject": item.subject,
            "state": item.state,
            "room_id": item.room_id,
            "event_id": item.event_id,
            "sender": item.accused,
            "event_type": item.event_type,
            "event_ts": item.event_ts,
            "encrypted": item.encrypted,
            "report_count": item.report_count,
            "created_ts": item.created_ts,
            "updated_ts": item.updated_ts,
            "notified_ts": item.notified_ts,
            "removed_ts": item.removed_ts,
            "application_id": item.application_id,
        }
        if item.encrypted:
            answer["encrypted_note"] = messages.ENCRYPTED_NOTE
        if full:
            answer["room_name"] = await self.room_name(item.room_id)
            answer["reports"] = [filing.as_dict() for filing in item.filings]
            answer["audit"] = [entry.as_dict() for entry in item.audit]
            answer["allowed_actions"] = rules.allowed_actions(True, item.facts)
        return answer

    # --- acting ---------------------------------------------------------------------------

    async def act(self, admin: str, item_id: str, action: str, body: Any) -> Item:
        """`admin` is a server administrator (checked by the caller)."""
        if action not in rules.ACTIONS:
            raise ReportError(404, "M_UNRECOGNIZED", "Tiada tindakan sedemikian. / There is no such action.")
        note = parse_note(body, required=action == rules.DISMISS)
        item = await self.item(item_id)
        refusal = rules.refusal_for(action, True, item.facts)
        if refusal is not None:
            raise ReportError(refusal.code, refusal.errcode, refusal.message)
        to_state = rules.next_state(action, item.state)
        if action == rules.REMOVE:
            await self._remove(item, admin, note)
            moved = await self.store.transition(item_id, item.state, to_state, admin, "removed", note, now_ms(), set_removed=True)
        elif action == rules.WARN:
            text = messages.warning(item, await self.room_name(item.room_id), note)
            assert item.accused is not None
            moved = await self.store.transition(item_id, item.state, to_state, admin, "warned", note, now_ms())
            if moved:
                await self._outbox.enqueue([outbox.notice(item.accused, text)])  # retried until delivered
        elif action == rules.CANCEL_ACCOUNT:
            assert item.accused is not None
            try:
                application = await self._applications.start_breach_cancellation(admin, item.accused, note, item_id)
            except ApplicationError as problem:
                raise ReportError(problem.code, problem.errcode, problem.message) from None
            moved = await self.store.transition(
                item_id, item.state, to_state, admin, "cancellation_started", f"{application.application_id} {note}".strip(),
                now_ms(), application_id=application.application_id,
            )
            if not moved:
                await self._applications.store.transition(
                    application.application_id, "submitted", "rejected", admin, "rejected",
                    f"Pendua untuk {item_id} / Duplicate for {item_id}", now_ms(),
                )
        else:
            moved = await self.store.transition(item_id, item.state, to_state, admin, NEXT_ACTION_NAME[action], note, now_ms())
        if not moved:
            raise ReportError(
                409, rules.WRONG_STATE,
                "Laporan ini telah dikendalikan oleh pentadbir lain; muat semula. / "
                "Another administrator handled this report first; reload.",
            )
        logger.info("content_reports: %s on %s by %s", action, item_id, admin)
        await self.refresh_metrics()
        return await self.item(item_id)

    async def _remove(self, item: Item, admin: str, note: str) -> None:
        """Redact the message in its sender's name, from the server (no device): the moderation path the edit
        window allows at any age, as Synapse's admin API user redaction does."""
        if item.accused is None or item.event_id is None or item.room_id is None:
            raise ReportError(
                409, rules.WRONG_STATE,
                "Pengirim mesej ini bukan pengguna pelayan ini; minta moderator bilik memadamnya. / "
                "The sender of this message is not a user of this server; ask the room's moderators to remove it.",
            )
        reason = f"GovChat {item.item_id}" + (f": {note}" if note else "")
        try:
            await self._api.create_and_send_event_into_room(
                {
                    "type": "m.room.redaction",
                    "room_id": item.room_id,
                    "sender": item.accused,
                    "redacts": item.event_id,
                    "content": {"redacts": item.event_id, "reason": reason},
                }
            )
        except Exception as error:
            logger.warning("content_reports: removing %s failed", item.event_id, exc_info=True)
            await self.store.add_audit(item.item_id, admin, "remove_failed", str(error)[:300], now_ms())
            raise ReportError(
                409, "M_UNKNOWN",
                "Mesej tidak dapat dipadam (pengirim mungkin telah meninggalkan bilik); lihat jejak audit. / "
                "The message could not be removed (the sender may have left the room); see the audit trail.",
            ) from None


NEXT_ACTION_NAME = {rules.REVIEW: "under_review", rules.DISMISS: "dismissed"}

