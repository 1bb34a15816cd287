"""Synapse adapter for content reports: the JSON API, the web pages and the intake job.

The intake job runs only on the process configured to run background tasks (the
main process by default, or the worker named in `run_background_tasks_on`): one
reader takes Synapse's new reports in and announces each new item once. Everything
it decides on (what was taken in, who was told, each reporter's rate) is in tables,
so a restart or a move to another worker picks up where it stopped.
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi

from synapse_modules.applications.config import parse_applications_config
from synapse_modules.applications.service import ApplicationService
from synapse_modules.applications.store import ApplicationStore
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.outbox import outbox_for
from synapse_modules.common.schema_check import require_schema
from synapse_modules.content_reports import synapse_adapter
from synapse_modules.content_reports.config import ContentReportsConfig, parse_content_reports_config
from synapse_modules.content_reports.service import WEB_PREFIX, ContentReportService
from synapse_modules.content_reports.servlets import ContentReportsResource
from synapse_modules.content_reports.store import ContentReportStore
from synapse_modules.content_reports.web import ContentReportPages

logger = logging.getLogger(__name__)


class ContentReports:
    def __init__(self, config: tuple[ContentReportsConfig, dict[str, Any]], api: ModuleApi) -> None:
        own, applications = config
        self._config = own
        require_schema(api, 5)
        synapse_adapter.self_test_at_start(api)
        outbox_for(api)  # notices go through GovChat's outbox, delivered by the main process
        # The applications module's Python API, for A5 cancellations started from a report.
        application_service = ApplicationService(api, parse_applications_config(applications), ApplicationStore(api))
        self.service = ContentReportService(api, own, ContentReportStore(api), application_service)
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/content-reports", ContentReportsResource(api, self.service))
        api.register_web_resource(WEB_PREFIX, ContentReportPages(api, self.service))
        if api.should_run_background_tasks():  # elsewhere Synapse would log a warning that it does not run it
            api.looping_background_call(self._run_intake, own.poll_interval_seconds * 1000, desc="govchat_content_reports_intake")

    @staticmethod
    def parse_config(config: dict[str, Any]) -> tuple[ContentReportsConfig, dict[str, Any]]:
        applications = config.get("applications") or {}
        parse_applications_config(applications)  # fail at start-up, not at the first cancellation
        return parse_content_reports_config(config), applications

    async def _run_intake(self) -> None:
        try:
            await self.service.run_intake()
        except Exception:
            logger.exception("content_reports: the intake job failed; it runs again in %d s", self._config.poll_interval_seconds)
