"""The directory sync: deactivate accounts whose directory entry is gone or disabled (R1.5).

Run periodically on the background-tasks worker and on an administrator's request
(`govchat directory sync [--dry-run]`); both take the `directory_sync` lease
(`common/jobs.py`), so an administrator's run never overlaps the periodic one on
any process. Deactivations go through the outbox: the main process carries them
out (at once when the sync runs there). A directory that cannot be read, or that
returns no entries at all (a wrong base DN looks like that), deactivates nobody in
its domain: the run reports the error instead.
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.common import outbox
from synapse_modules.common.channels import system_user_id
from synapse_modules.common.jobs import JobBusy, run_exclusive
from synapse_modules.directory import ldap_directory
from synapse_modules.directory.config import DirectoryAgency, DirectoryConfig, directory_for
from synapse_modules.directory.ldap_threads import LdapThreads
from synapse_modules.directory.metrics import SYNC_DEACTIVATED, SYNC_ERRORS, SYNC_RUNS
from synapse_modules.directory.rules import Account, DirectoryUnavailable, accounts_to_deactivate
from synapse_modules.directory.store import DirectoryStore

logger = logging.getLogger(__name__)


SYNC_JOB = "directory_sync"
# A sync that dies without releasing its lease blocks the next ones this long at most.
SYNC_LEASE_MS = 30 * 60_000


class SyncAlreadyRunning(Exception):
    """Another sync is running, in this process or another."""


class DirectorySync:
    def __init__(self, api: ModuleApi, config: DirectoryConfig, store: DirectoryStore, ldap: LdapThreads) -> None:
        self._api = api
        self._ldap = ldap
        self._config = config
        self._store = store
        self._outbox = outbox.outbox_for(api)

    async def run_periodically(self) -> None:
        try:
            report = await self.run(dry_run=False, by_admin=None, trigger="periodic")
        except SyncAlreadyRunning:
            return
        except Exception:
            SYNC_ERRORS.labels(kind="unexpected").inc()
            logger.exception("Directory sync failed")
            return
        if report["deactivated"] or report["queued"] or report["errors"]:
            counts = (len(report["deactivated"]), len(report["queued"]), len(report["errors"]))
            logger.info("Directory sync: deactivated %d, queued %d, errors %d", *counts)

    async def run(self, dry_run: bool, by_admin: str | None, trigger: str = "admin") -> dict[str, Any]:
        async def sync() -> dict[str, Any]:
            SYNC_RUNS.labels(trigger=trigger).inc()
            return await self._run(dry_run, by_admin or system_user_id(self._api.server_name))

        try:
            return await run_exclusive(self._api, SYNC_JOB, SYNC_LEASE_MS, trigger, sync)
        except JobBusy:
            raise SyncAlreadyRunning() from None

    async def _run(self, dry_run: bool, acting_admin: str) -> dict[str, Any]:
        report: dict[str, Any] = {
            "dry_run": dry_run, "checked": 0, "deactivated": [], "queued": [], "would_deactivate": [], "skipped": [], "errors": [],
        }
        for agency, accounts in (await self._accounts_by_directory()).items():
            try:
                entries = await self._ldap.run(ldap_directory.all_entries, agency)
            except DirectoryUnavailable as error:
                self._error(report, agency, f"directory unavailable: {error}")
                continue
            if not entries:
                self._error(report, agency, "the directory returned no entries; nobody deactivated (check base_dn)")
                continue
            report["checked"] += len(accounts)
            for decision in accounts_to_deactivate(accounts, entries):
                if await self._api.is_user_admin(decision.user_id):
                    # Server administrators are never locked out by a directory; an administrator acts on them.
                    report["skipped"].append({**decision.as_dict(), "why": "server administrator"})
                    continue
                if dry_run:
                    report["would_deactivate"].append(decision.as_dict())
                    continue
                try:
                    # Queued (retried until done) and carried out by the main process, at once when this is it.
                    await self._outbox.enqueue([outbox.deactivation(decision.user_id, acting_admin)])
                except Exception:
                    logger.exception("Directory sync could not queue the deactivation of %s", decision.user_id)
                    SYNC_ERRORS.labels(kind="deactivation").inc()
                    report["errors"].append({"domain": agency.domain, "user_id": decision.user_id, "error": "deactivation failed"})
                    continue
                SYNC_DEACTIVATED.labels(reason=decision.reason.value).inc()
                if await self._is_deactivated(decision.user_id):
                    logger.info("Directory sync deactivated %s (%s)", decision.user_id, decision.reason.value)
                    report["deactivated"].append(decision.as_dict())
                else:
                    # Not done yet: another process carries it out, or the attempt failed and the outbox retries it.
                    report["queued"].append(decision.as_dict())
        return report

    async def _is_deactivated(self, user_id: str) -> bool:
        info = await self._api.get_userinfo_by_id(user_id)
        return info is not None and bool(info.is_deactivated)

    async def _accounts_by_directory(self) -> dict[DirectoryAgency, list[Account]]:
        grouped: dict[DirectoryAgency, list[Account]] = {}
        for account in await self._store.active_email_accounts():
            agency = directory_for(account.email.rpartition("@")[2], self._config.agencies)
            if agency is not None:
                grouped.setdefault(agency, []).append(account)
        return grouped

    @staticmethod
    def _error(report: dict[str, Any], agency: DirectoryAgency, message: str) -> None:
        SYNC_ERRORS.labels(kind="directory").inc()
        logger.warning("Directory sync for %s: %s", agency.domain, message)
        report["errors"].append({"domain": agency.domain, "error": message})
