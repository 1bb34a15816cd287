"""Web pages for the reports queue under /_synapse/client/govchat/content-reports (Malay and English).

They sit beside the applications pages and share their sign-in, session cookie and
CSRF protection (`synapse_modules.applications.web`): the same HttpOnly,
SameSite=Strict cookie, and on every form POST a token derived from the session's
access token, checked before anything else. Only server administrators get past the
first check; everyone else sees a 403 page.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from synapse.http.server import respond_with_redirect
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeHtmlResource, ModuleApi

from synapse_modules.applications import workflow
from synapse_modules.applications.messages import format_moment
from synapse_modules.applications.web import BAD_CSRF, csrf_token, form_fields, sign_in_redirect, signed_in
from synapse_modules.applications.web import TEMPLATES as APPLICATION_TEMPLATES
from synapse_modules.common.http import NOT_AN_ADMINISTRATOR, path_segments, query_value
from synapse_modules.content_reports import messages, rules
from synapse_modules.content_reports.service import WEB_PREFIX, ContentReportService, ReportError, now_ms

TEMPLATES = Path(__file__).parent / "templates"
NO_PAGE = "Tiada halaman sedemikian. / There is no such page."


class ContentReportPages(DirectServeHtmlResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, service: ContentReportService) -> None:
        super().__init__()
        self._api = api
        self._service = service
        # Own pages first; the applications' layout (header, sign-out) is shared.
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES)), jinja2.FileSystemLoader(str(APPLICATION_TEMPLATES))])
        self._templates = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
        self._templates.globals.update(
            prefix=WEB_PREFIX, subjects=messages.SUBJECT_NAMES, states=messages.STATE_NAMES,
            action_names=messages.ACTION_NAMES, moment=format_moment, all_states=rules.STATES,
        )

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, bytes] | None:
        session = await self._admin_session(request)
        if session is None:
            return None
        if isinstance(session, bytes):
            return 403, session
        path = path_segments(request)
        if not path:
            state = query_value(request, "state") or None
            try:
                items = await self._service.listing(state, 500)
            except ReportError as problem:
                return 400, self._render("message.html", session, text=problem.message)
            shown = [await self._service.present(item, full=False) for item in items]
            held = await self._service.store.held_count()
            return 200, self._render("reports_list.html", session, items=shown, state=state, held=held)
        if len(path) == 1:
            return await self._detail(session, path[0], None)
        return 404, self._render("message.html", session, text=NO_PAGE)

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, bytes] | None:
        session = await self._admin_session(request)
        if session is None:
            return None
        if isinstance(session, bytes):
            return 403, session
        viewer, token = session
        fields = form_fields(request)
        if not hmac.compare_digest(fields.get("csrf", ""), csrf_token(token)):
            return 403, self._render("message.html", session, text=BAD_CSRF)
        path = path_segments(request)
        if len(path) != 1:
            return 404, self._render("message.html", session, text=NO_PAGE)
        try:
            await self._service.act(viewer.user_id, path[0], fields.get("action", ""), {"note": fields.get("note", "")})
        except ReportError as problem:
            if problem.code == 404:
                return 404, self._render("message.html", session, text=problem.message)
            return await self._detail(session, path[0], problem)
        respond_with_redirect(request, f"{WEB_PREFIX}/{quote(path[0])}".encode())
        return None

    async def _detail(self, session: tuple[workflow.Viewer, str], item_id: str, problem: ReportError | None) -> tuple[int, bytes]:
        try:
            item = await self._service.present(await self._service.item(item_id))
        except ReportError as missing:
            return 404, self._render("message.html", session, text=missing.message)
        return (problem.code if problem else 200), self._render("report_detail.html", session, item=item, problem=problem)

    async def _admin_session(self, request: SynapseRequest) -> tuple[workflow.Viewer, str] | bytes | None:
        """The administrator's session; None after redirecting to sign-in; a 403 page for anyone else."""
        signed = await signed_in(self._api, request)
        if signed is None:
            sign_in_redirect(request)
            return None
        user_id, token = signed
        viewer = workflow.Viewer(user_id=user_id, is_admin=await self._api.is_user_admin(user_id))
        if not viewer.is_admin:
            return self._render("message.html", (viewer, token), text=NOT_AN_ADMINISTRATOR)
        return viewer, token

    def _render(self, template: str, session: tuple[workflow.Viewer, str], **context: Any) -> bytes:
        viewer, token = session
        return self._templates.get_template(template).render(
            viewer=viewer, csrf=csrf_token(token), now=now_ms(), **context
        ).encode("utf-8")

