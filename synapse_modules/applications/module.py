"""Synapse adapter for applications: web resources, the registration gate, the periodic job.

The periodic job (cancellations falling due, reminders, ended permissions, metrics)
runs only in the process configured to run background tasks (the main process by
default, or the worker named in `run_background_tasks_on`), under the
`applications_due_work` lease, so that no two workers deactivate the same account
or send the same reminder. What it owes (notices, mails, deactivations) goes
through the outbox, which the main process delivers.
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.applications.config import ApplicationsConfig, parse_applications_config
from synapse_modules.applications.service import WEB_PREFIX, ApplicationService
from synapse_modules.applications.servlets import ApplicationsResource
from synapse_modules.applications.store import ApplicationStore
from synapse_modules.applications.web import ApplicationPages
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.jobs import JobBusy, run_exclusive
from synapse_modules.common.registration_gates import add_email_gate
from synapse_modules.common.schema_check import require_schema

DUE_WORK_JOB = "applications_due_work"
DUE_WORK_LEASE_MS = 15 * 60_000

logger = logging.getLogger(__name__)


class Applications:
    def __init__(self, config: ApplicationsConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        require_schema(api, 4)
        self.service = ApplicationService(api, config, ApplicationStore(api))
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/applications", ApplicationsResource(api, self.service))
        api.register_web_resource(WEB_PREFIX, ApplicationPages(api, self.service))
        add_email_gate(self.service.email_gate)
        api.register_third_party_rules_callbacks(on_add_user_third_party_identifier=self.on_add_user_third_party_identifier)
        # Only on the background-tasks process (elsewhere Synapse would log a warning that it does not run it).
        if api.should_run_background_tasks():
            api.looping_background_call(self._run_due_work, config.check_interval_seconds * 1000, desc="govchat_applications_due_work")
            api.delayed_background_call(1000, self.service.refresh_metrics, desc="govchat_applications_metrics")

    @staticmethod
    def parse_config(config: dict[str, Any]) -> ApplicationsConfig:
        return parse_applications_config(config)

    async def _run_due_work(self) -> None:
        try:
            await run_exclusive(self._api, DUE_WORK_JOB, DUE_WORK_LEASE_MS, "periodic", self.service.run_due_work)
        except JobBusy:
            logger.info("The applications job is still running elsewhere; skipped this interval")
        except Exception:
            logger.exception("The applications job failed; it runs again in %d s", self._config.check_interval_seconds)

    async def on_add_user_third_party_identifier(self, user_id: str, medium: str, address: str) -> None:
        if medium != "email":
            return
        try:
            await self.service.appoint_pending_owner(user_id, address.lower())
        except Exception:
            logger.exception("Appointing %s as a pending channel owner failed", user_id)
