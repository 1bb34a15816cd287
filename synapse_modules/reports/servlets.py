"""Admin HTTP API and web page: GET /_synapse/client/govchat/v1/reports/monthly?month=YYYY-MM&format=json|csv|html.

The HTML form is the administrators' web page (a browser may pass the token as
`access_token=`); CSV is for spreadsheets; JSON for programs. All three come from
the same `MonthlyReport`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.http.server import finish_request, respond_with_html
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeJsonResource, ModuleApi

from synapse_modules.common.http import query_value, require_server_admin
from synapse_modules.reports import report
from synapse_modules.reports.config import ReportsConfig
from synapse_modules.reports.store import ReportStore


class MonthlyReportResource(DirectServeJsonResource):
    def __init__(self, api: ModuleApi, config: ReportsConfig, store: ReportStore) -> None:
        super().__init__()
        self._api = api
        self._config = config
        self._store = store

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, dict[str, Any]] | None:
        await require_server_admin(self._api, request)
        now = datetime.fromtimestamp(self._api.get_current_time_msec() / 1000, tz=UTC)
        try:
            month = report.parse_month(query_value(request, "month"), now)
            output = report.parse_format(query_value(request, "format"))
        except report.InvalidRequest as problem:
            raise SynapseError(400, problem.message, Codes.INVALID_PARAM, additional_fields={"field": problem.field}) from None
        monthly = await self.build(month)
        if output == "json":
            return 200, monthly.as_dict()
        if output == "html":
            respond_with_html(request, 200, report.to_html(monthly))
            return None
        _respond_with_csv(request, report.to_csv(monthly), f"govchat-report-{month}.csv")
        return None

    async def build(self, month: report.Month) -> report.MonthlyReport:
        end_ms = month.end_ms
        channels = await self._store.channels_created_before(end_ms)
        owners = {owner for channel in channels for owner in channel.owners}
        return report.build_report(
            month=month,
            configured=self._config.agencies,
            users_by_agency=await self._store.users_by_agency(end_ms),
            channels=channels,
            owner_agencies=await self._store.agencies_of(owners),
            count_archived=self._config.count_archived_channels,
        )


def _respond_with_csv(request: SynapseRequest, text: str, filename: str) -> None:
    body = text.encode("utf-8")
    request.setResponseCode(200)
    request.setHeader(b"Content-Type", b"text/csv; charset=utf-8")
    request.setHeader(b"Content-Disposition", f'attachment; filename="{filename}"'.encode())
    request.setHeader(b"Content-Length", str(len(body)).encode())
    request.write(body)
    finish_request(request)

