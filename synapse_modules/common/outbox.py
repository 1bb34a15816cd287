"""GovChat's durable outbox: server notices, mails and deactivations, delivered by the main process.

Synapse refuses server notices on workers ("Workers cannot send server notices")
and deactivates accounts only on the main process, while GovChat's workflows run
wherever a request lands or on the background-tasks worker. So a workflow writes
what it owes as a row of `govchat_outbox` (when it can, in the same transaction
as its own state change) and the main process delivers it:

- enqueued on the main process, an item is delivered at once, before the request answers;
- every second the main process drains the rest (`looping_background_call` with
  `run_on_all_instances`, guarded by `worker_name is None`);
- an item is claimed with a conditional UPDATE, so two drainers never deliver it
  twice, and marked delivered right after success;
- a failure is retried with exponential back-off (5 s doubling up to 15 min) and
  given up after `GIVE_UP_AFTER_MS` (3 days): logged, counted in
  `govchat_outbox_given_up_total`, listed by `GET /_synapse/client/govchat/v1/outbox`;
- an administrator retries items now (`POST /_synapse/client/govchat/v1/outbox/retry`,
  `govchat outbox retry`): a given-up item is pending again and its give-up clock restarts.

A drainer that dies between delivering and marking leaves the claim to expire
(`CLAIM_MS`), and the item is delivered again: at least once, exactly once unless
the main process dies in that instant. Deactivation is idempotent.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge
from synapse.api.errors import Codes, SynapseError
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.common.http import (
    GOVCHAT_API_PREFIX,
    json_body,
    parse_limit,
    path_segments,
    query_value,
    require_server_admin,
)
from synapse_modules.common.synapse_internals import deactivate_account, send_server_notice

logger = logging.getLogger(__name__)

NOTICE = "notice"
MAIL = "mail"
DEACTIVATE = "deactivate"
KINDS = (NOTICE, MAIL, DEACTIVATE)

FIRST_RETRY_MS = 5_000
MAX_RETRY_MS = 15 * 60_000
GIVE_UP_AFTER_MS = 3 * 24 * 3600_000
CLAIM_MS = 5 * 60_000
DRAIN_INTERVAL_MS = 1_000
DRAIN_BATCH = 100
# Delivered items are kept this long (for the record), then deleted; given-up items are kept.
KEEP_DELIVERED_MS = 30 * 24 * 3600_000
PRUNE_EVERY_DRAINS = 3600

PENDING = Gauge("govchat_outbox_pending", "GovChat outbox items not yet delivered nor given up (main process)")
DELIVERED = Counter("govchat_outbox_delivered_total", "GovChat outbox items delivered, by kind", ["kind"])
FAILURES = Counter("govchat_outbox_failures_total", "Failed GovChat outbox delivery attempts, by kind", ["kind"])
GIVEN_UP = Counter("govchat_outbox_given_up_total", "GovChat outbox items given up after GIVE_UP_AFTER_MS, by kind", ["kind"])


# --- the rules, as plain functions ---------------------------------------------------


def retry_delay_ms(attempts: int) -> int:
    """How long to wait after the `attempts`-th failed attempt: 5 s, 10 s, 20 s, ... at most 15 min."""
    return int(min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** max(0, min(attempts - 1, 30))))


def next_attempt_after_failure(created_ts: int, attempts: int, now_ms: int) -> int | None:
    """When to try again after a failure, or None to give up (the item is older than GIVE_UP_AFTER_MS)."""
    if now_ms - created_ts >= GIVE_UP_AFTER_MS:
        return None
    return now_ms + retry_delay_ms(attempts)


@dataclass(frozen=True)
class OutboxItem:
    kind: str
    payload: dict[str, Any]


def notice(user_id: str, body: str) -> OutboxItem:
    return OutboxItem(NOTICE, {"user_id": user_id, "body": body})


def mail(to: str, subject: str, html: str, text: str) -> OutboxItem:
    return OutboxItem(MAIL, {"to": to, "subject": subject, "html": html, "text": text})


def deactivation(user_id: str, by_admin_user_id: str) -> OutboxItem:
    return OutboxItem(DEACTIVATE, {"user_id": user_id, "by": by_admin_user_id})


def now_ms() -> int:
    return int(time.time() * 1000)


def enqueue_txn(txn: Any, items: list[OutboxItem], now: int) -> list[str]:
    """Write the items inside the caller's transaction (committed, or lost, with its state change)."""
    ids = []
    for item in items:
        assert item.kind in KINDS
        item_id = secrets.token_hex(12)
        txn.execute(
            "INSERT INTO govchat_outbox (id, kind, payload, created_ts, attempts, next_attempt_ts) VALUES (?, ?, ?, ?, 0, ?)",
            (item_id, item.kind, json.dumps(item.payload, ensure_ascii=False), now, now),
        )
        ids.append(item_id)
    return ids


# --- the adapter ---------------------------------------------------------------------


class Outbox:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api
        self._drains = 0

    @property
    def delivers_here(self) -> bool:
        return self._api.worker_name is None

    async def enqueue(self, items: list[OutboxItem]) -> list[str]:
        """Queue items in their own transaction and, on the main process, deliver them at once."""
        if not items:
            return []
        ids: list[str] = await self._api.run_db_interaction("govchat_outbox_enqueue", enqueue_txn, items, now_ms())
        await self.kick(ids)
        return ids

    async def kick(self, ids: list[str]) -> None:
        """Deliver freshly queued items now if this is the main process (else the main drainer does)."""
        if not self.delivers_here:
            return
        for item_id in ids:
            await self.deliver(item_id)

    async def drain(self) -> None:
        try:
            due = await self._api.run_db_interaction("govchat_outbox_due", _due_ids, now_ms(), DRAIN_BATCH)
            for item_id in due:
                await self.deliver(item_id)
            PENDING.set(await self._api.run_db_interaction("govchat_outbox_pending", _pending_count))
            self._drains += 1
            if self._drains % PRUNE_EVERY_DRAINS == 1:
                await self._api.run_db_interaction("govchat_outbox_prune", _prune, now_ms() - KEEP_DELIVERED_MS)
        except Exception:
            logger.exception("Draining the GovChat outbox failed; trying again in %d ms", DRAIN_INTERVAL_MS)

    async def deliver(self, item_id: str) -> bool:
        """Claim one item and deliver it; False if someone else has it, it is not due, or it failed."""
        claimed = await self._api.run_db_interaction("govchat_outbox_claim", _claim, item_id, now_ms())
        if claimed is None:
            return False
        kind, payload, created_ts, attempts = claimed
        try:
            await self._deliver(kind, json.loads(payload))
        except Exception as error:
            FAILURES.labels(kind=kind).inc()
            retry_at = next_attempt_after_failure(created_ts, attempts, now_ms())
            description = f"{type(error).__name__}: {error}"[:500]
            await self._api.run_db_interaction("govchat_outbox_failed", _failed, item_id, retry_at, description, now_ms())
            if retry_at is None:
                GIVEN_UP.labels(kind=kind).inc()
                logger.error("Gave up delivering GovChat outbox item %s (%s) after %d attempts: %s", item_id, kind, attempts, description)
            else:
                logger.warning("GovChat outbox item %s (%s) failed (attempt %d), retrying: %s", item_id, kind, attempts, description)
            return False
        await self._api.run_db_interaction("govchat_outbox_delivered", _delivered, item_id, now_ms())
        DELIVERED.labels(kind=kind).inc()
        return True

    async def _deliver(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == NOTICE:
            await send_server_notice(self._api, payload["user_id"], payload["body"])
        elif kind == MAIL:
            await self._api.send_mail(payload["to"], payload["subject"], payload["html"], payload["text"])
        elif kind == DEACTIVATE:
            info = await self._api.get_userinfo_by_id(payload["user_id"])
            if info is not None and not info.is_deactivated:
                await deactivate_account(self._api, payload["user_id"], payload["by"])
                logger.info("Deactivated %s (outbox)", payload["user_id"])
        else:
            raise ValueError(f"unknown outbox kind {kind!r}")

    async def retry(self, ids: list[str] | None) -> list[str]:
        """Make the named items (or, for None, every given-up item) due now; the IDs now pending."""
        retried: list[str] = await self._api.run_db_interaction("govchat_outbox_retry", _retry, ids, now_ms())
        if retried:
            logger.info("Administrator retried %d GovChat outbox item(s)", len(retried))
            await self.kick(retried)
        return retried

    async def listing(self, limit: int) -> dict[str, Any]:
        pending, given_up = await self._api.run_db_interaction("govchat_outbox_listing", _listing, limit)
        return {"pending": pending, "given_up": given_up}


_installed: dict[str, Outbox] = {}


def outbox_for(api: ModuleApi) -> Outbox:
    """This process's outbox; the first caller starts the main process's drainer and the admin endpoint."""
    if "outbox" in _installed:
        return _installed["outbox"]
    outbox = _installed["outbox"] = Outbox(api)
    api.register_web_resource(f"{GOVCHAT_API_PREFIX}/outbox", OutboxResource(api, outbox))
    if outbox.delivers_here:
        api.looping_background_call(outbox.drain, DRAIN_INTERVAL_MS, desc="govchat_outbox_drain", run_on_all_instances=True)
    return outbox


class OutboxResource(DirectServeJsonResource):
    """GET /_synapse/client/govchat/v1/outbox[?limit=N]: items still pending or given up (administrators only);
    POST .../outbox/retry: deliver items now."""

    isLeaf = True  # .../outbox/retry reaches this resource too

    def __init__(self, api: ModuleApi, outbox: Outbox) -> None:
        super().__init__()
        self._api = api
        self._outbox = outbox

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        await require_server_admin(self._api, request)
        if path_segments(request):
            raise SynapseError(404, NOT_FOUND, Codes.NOT_FOUND)
        return 200, await self._outbox.listing(parse_limit(query_value(request, "limit"), 100, 1000))

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, dict[str, Any]]:
        """POST .../outbox/retry with {"ids": [...]} or {"all_given_up": true}: due now, delivered within seconds."""
        await require_server_admin(self._api, request)
        if path_segments(request) != ["retry"]:
            raise SynapseError(404, NOT_FOUND, Codes.NOT_FOUND)
        body = json_body(request)
        ids = body.get("ids") if isinstance(body, dict) else None
        all_given_up = isinstance(body, dict) and body.get("all_given_up") is True
        if all_given_up == (ids is not None) or (ids is not None and not (
            isinstance(ids, list) and 0 < len(ids) <= 1000 and all(isinstance(item, str) for item in ids)
        )):
            raise SynapseError(400, BAD_RETRY, Codes.INVALID_PARAM)
        retried = await self._outbox.retry(None if all_given_up else ids)
        return 200, {"retried": retried}


NOT_FOUND = "Tiada di sini. / Not found."
BAD_RETRY = (
    "Nyatakan sama ada \"ids\" (senarai ID item, paling banyak 1000) atau \"all_given_up\": true. / "
    "Give either \"ids\" (a list of up to 1000 item IDs) or \"all_given_up\": true."
)


# --- SQL (SQLite and PostgreSQL) -------------------------------------------------------


def _due_ids(txn: Any, now: int, limit: int) -> list[str]:
    txn.execute(
        "SELECT id FROM govchat_outbox WHERE delivered_ts IS NULL AND given_up_ts IS NULL AND next_attempt_ts <= ?"
        " AND (claimed_until_ts IS NULL OR claimed_until_ts < ?) ORDER BY next_attempt_ts LIMIT ?",
        (now, now, limit),
    )
    return [row[0] for row in txn.fetchall()]


def _claim(txn: Any, item_id: str, now: int) -> tuple[str, str, int, int] | None:
    txn.execute(
        "UPDATE govchat_outbox SET claimed_until_ts = ?, attempts = attempts + 1"
        " WHERE id = ? AND delivered_ts IS NULL AND given_up_ts IS NULL AND next_attempt_ts <= ?"
        " AND (claimed_until_ts IS NULL OR claimed_until_ts < ?)",
        (now + CLAIM_MS, item_id, now, now),
    )
    if txn.rowcount != 1:
        return None
    txn.execute("SELECT kind, payload, created_ts, attempts FROM govchat_outbox WHERE id = ?", (item_id,))
    row = txn.fetchone()
    return str(row[0]), str(row[1]), int(row[2]), int(row[3])


def _delivered(txn: Any, item_id: str, now: int) -> None:
    txn.execute("UPDATE govchat_outbox SET delivered_ts = ?, claimed_until_ts = NULL, last_error = NULL WHERE id = ?", (now, item_id))


def _failed(txn: Any, item_id: str, retry_at: int | None, error: str, now: int) -> None:
    if retry_at is None:
        txn.execute(
            "UPDATE govchat_outbox SET given_up_ts = ?, claimed_until_ts = NULL, last_error = ? WHERE id = ?", (now, error, item_id)
        )
    else:
        txn.execute(
            "UPDATE govchat_outbox SET next_attempt_ts = ?, claimed_until_ts = NULL, last_error = ? WHERE id = ?",
            (retry_at, error, item_id),
        )


def _retry(txn: Any, ids: list[str] | None, now: int) -> list[str]:
    """Items not yet delivered nor claimed become due now; given-up ones pending again, from now."""
    if ids is None:
        txn.execute("SELECT id FROM govchat_outbox WHERE given_up_ts IS NOT NULL AND delivered_ts IS NULL")
        ids = [row[0] for row in txn.fetchall()]
    retried = []
    for item_id in ids:
        txn.execute(
            "UPDATE govchat_outbox SET next_attempt_ts = ?,"
            " created_ts = CASE WHEN given_up_ts IS NULL THEN created_ts ELSE ? END, given_up_ts = NULL"
            " WHERE id = ? AND delivered_ts IS NULL AND (claimed_until_ts IS NULL OR claimed_until_ts < ?)",
            (now, now, item_id, now),
        )
        if txn.rowcount == 1:
            retried.append(item_id)
    return retried


def _prune(txn: Any, delivered_before: int) -> None:
    txn.execute("DELETE FROM govchat_outbox WHERE delivered_ts IS NOT NULL AND delivered_ts < ?", (delivered_before,))


def _pending_count(txn: Any) -> int:
    txn.execute("SELECT COUNT(*) FROM govchat_outbox WHERE delivered_ts IS NULL AND given_up_ts IS NULL")
    return int(txn.fetchone()[0])


def _listing(txn: Any, limit: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    columns = "id, kind, created_ts, attempts, next_attempt_ts, given_up_ts, last_error, payload"

    def rows() -> list[dict[str, Any]]:
        items = []
        for row in txn.fetchall():
            payload = json.loads(row[7])
            # Who it is for, not what it says (mail bodies may hold links).
            recipient = payload.get("user_id") or payload.get("to")
            items.append({
                "id": row[0], "kind": row[1], "created_ts": int(row[2]), "attempts": int(row[3]),
                "next_attempt_ts": int(row[4]), "given_up_ts": int(row[5]) if row[5] is not None else None,
                "last_error": row[6], "recipient": recipient,
            })
        return items

    txn.execute(
        f"SELECT {columns} FROM govchat_outbox WHERE delivered_ts IS NULL AND given_up_ts IS NULL ORDER BY created_ts LIMIT ?",
        (limit,),
    )
    pending = rows()
    txn.execute(f"SELECT {columns} FROM govchat_outbox WHERE given_up_ts IS NOT NULL ORDER BY given_up_ts DESC LIMIT ?", (limit,))
    return pending, rows()
