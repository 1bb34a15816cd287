"""Synapse adapter for the monthly report: records deactivation times and serves the report."""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError

from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.schema_check import require_schema
from synapse_modules.reports import synapse_adapter
from synapse_modules.reports.config import ReportsConfig, ReportsConfigProblem, parse_reports_config
from synapse_modules.reports.servlets import MonthlyReportResource
from synapse_modules.reports.store import ReportStore

logger = logging.getLogger(__name__)


class MonthlyReports:
    def __init__(self, config: ReportsConfig, api: ModuleApi) -> None:
        self._api = api
        require_schema(api, 1)
        synapse_adapter.self_test(api)
        self._store = ReportStore(api)
        api.register_third_party_rules_callbacks(on_user_deactivation_status_changed=self.on_user_deactivation_status_changed)
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/reports/monthly", MonthlyReportResource(api, config, self._store))

    @staticmethod
    def parse_config(config: dict[str, Any]) -> ReportsConfig:
        try:
            return parse_reports_config(config)
        except ReportsConfigProblem as problem:
            raise ConfigError(f"reports: {problem}") from None

    async def on_user_deactivation_status_changed(self, user_id: str, deactivated: bool, by_admin: bool) -> None:
        await self._store.record_deactivation(user_id, deactivated, self._api.get_current_time_msec())
