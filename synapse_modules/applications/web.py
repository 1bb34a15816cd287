"""Web pages for applications under /_synapse/client/govchat/applications (Malay and English).

Signing in: the sign-in page's form sends the user's GovChat name and password to
Synapse's own `/_matrix/client/v3/login` (so every password rule, lock-out and
rate limit applies), then hands the access token to `.../session`, which checks it
and keeps it in an HttpOnly, SameSite=Strict cookie scoped to /_synapse/client/govchat/.
`.../session` accepts only a JSON body, which a cross-site form cannot send.
Every form POST carries a CSRF token derived from the session's access token
(HMAC), checked before anything else: nothing is kept in process memory, so any
worker can check it. Signing out invalidates the access token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from synapse.api.errors import SynapseError
from synapse.http.server import respond_with_redirect
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeHtmlResource, ModuleApi

from synapse_modules.applications import forms, messages, workflow
from synapse_modules.applications.service import WEB_PREFIX, ApplicationError, ApplicationService, now_ms
from synapse_modules.common import synapse_internals
from synapse_modules.common.http import path_segments, query_value

SESSION_COOKIE = "govchat_session"
COOKIE_PATH = "/_synapse/client/govchat/"
# Pages behind this sign-in; the sign-in page returns only to these.
SIGNED_IN_PAGES = (WEB_PREFIX, "/_synapse/client/govchat/content-reports")
USER_ROWS = 5
TEMPLATES = Path(__file__).parent / "templates"
BAD_CSRF = (
    "Borang ini telah tamat tempoh atau bukan daripada GovChat; muat semula halaman dan cuba lagi. / "
    "This form has expired or did not come from GovChat; reload the page and try again."
)


def csrf_token(access_token: str) -> str:
    return hmac.new(access_token.encode(), b"govchat-applications-csrf", hashlib.sha256).hexdigest()


def form_to_submission(fields: dict[str, str]) -> dict[str, Any]:
    """Flat form fields (`applicant.name`, `details.users.0.email`) -> the JSON API's body; blank user rows dropped."""
    body: dict[str, Any] = {"kind": fields.get("kind"), "applicant": {}, "details": {}}
    rows: dict[int, dict[str, str]] = {}
    for name, value in fields.items():
        parts = name.split(".")
        if len(parts) == 2 and parts[0] in ("applicant", "details"):
            body[parts[0]][parts[1]] = value
        elif len(parts) == 4 and parts[:2] == ["details", "users"] and parts[2].isdigit():
            rows.setdefault(int(parts[2]), {})[parts[3]] = value
    users = [rows[index] for index in sorted(rows) if any(value.strip() for value in rows[index].values())]
    if body["kind"] == forms.EXTERNAL_USERS:
        body["details"]["users"] = users
    return body


class ApplicationPages(DirectServeHtmlResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, service: ApplicationService) -> None:
        super().__init__()
        self._api = api
        self._service = service
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self._templates.globals.update(
            prefix=WEB_PREFIX, kinds=messages.KIND_NAMES, states=messages.STATE_NAMES, labels=forms.LABELS,
            moment=messages.format_moment, user_rows=USER_ROWS,
        )
        self._secure = api.public_baseurl.startswith("https://")

    # --- routing --------------------------------------------------------------

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, bytes] | None:
        path = path_segments(request)
        if path == ["sign-in"]:
            return 200, self._render("sign_in.html", request, None, next=_safe_next(query_value(request, "next")))
        session = await self._session(request)
        if session is None:
            self._to_sign_in(request)
            return None
        viewer, _ = session
        if not path:
            found = await self._service.listing(viewer, None, None, 500)
            return 200, self._render("list.html", request, session, applications=[self._service.present(a) for a in found])
        if path == ["new"]:
            return 200, await self._new_form(request, session, query_value(request, "kind"), {}, None)
        if len(path) == 1:
            return await self._detail(request, session, path[0], None)
        return 404, self._render("message.html", request, session, text="Tiada halaman sedemikian. / There is no such page.")

    async def _async_render_POST(self, request: SynapseRequest) -> tuple[int, bytes] | None:
        path = path_segments(request)
        if path == ["session"]:
            return await self._start_session(request)
        session = await self._session(request)
        if session is None:
            self._to_sign_in(request)
            return None
        viewer, token = session
        fields = form_fields(request)
        if not hmac.compare_digest(fields.get("csrf", ""), csrf_token(token)):
            return 403, self._render("message.html", request, session, text=BAD_CSRF)
        if path == ["sign-out"]:
            await _sign_out(self._api, token)
            request.addCookie(SESSION_COOKIE, "", path=COOKIE_PATH, max_age="0", httpOnly=True, sameSite="strict", secure=self._secure)
            respond_with_redirect(request, f"{WEB_PREFIX}/sign-in".encode())
            return None
        if path == ["new"]:
            try:
                created = await self._service.submit(viewer.user_id, form_to_submission(fields))
            except ApplicationError as problem:
                return 400 if problem.code == 400 else problem.code, await self._new_form(request, session, fields.get("kind"), fields, problem)
            respond_with_redirect(request, f"{WEB_PREFIX}/{quote(created.application_id)}".encode())
            return None
        if len(path) == 1 and fields.get("action") in workflow.ACTIONS:
            try:
                await self._service.act(viewer, path[0], fields["action"], {"note": fields.get("note", "")})
            except ApplicationError as problem:
                if problem.code == 404:
                    raise SynapseError(404, problem.message) from None
                return await self._detail(request, session, path[0], problem)
            respond_with_redirect(request, f"{WEB_PREFIX}/{quote(path[0])}".encode())
            return None
        return 404, self._render("message.html", request, session, text="Tiada halaman sedemikian. / There is no such page.")

    # --- pages ------------------------------------------------------------------

    async def _new_form(
        self, request: SynapseRequest, session: tuple[workflow.Viewer, str], kind: str | None, values: dict[str, str], problem: ApplicationError | None
    ) -> bytes:
        viewer, _ = session
        prefill = dict(values)
        if not prefill:
            own = await self._service.official_email(viewer.user_id)
            prefill["applicant.email"] = own.address if own else ""
            if own:
                prefill["applicant.organisation"] = own.agency.name
        return self._render(
            "new.html", request, session, kind=kind if kind in forms.KINDS else None, values=prefill, problem=problem
        )

    async def _detail(
        self, request: SynapseRequest, session: tuple[workflow.Viewer, str], application_id: str, problem: ApplicationError | None
    ) -> tuple[int, bytes]:
        viewer, _ = session
        try:
            application = await self._service.visible(viewer, application_id)
        except ApplicationError as missing:
            return 404, self._render("message.html", request, session, text=missing.message)
        actions = [
            action for action in workflow.allowed_actions(viewer, application.applicant, application.agency.domain, application.state)
        ]
        return (problem.code if problem else 200), self._render(
            "detail.html", request, session, application=self._service.present(application), actions=actions, problem=problem
        )

    async def _start_session(self, request: SynapseRequest) -> tuple[int, bytes]:
        content_type = (request.getHeader("Content-Type") or "").split(";")[0].strip().lower()
        raw = request.content.read() if request.content is not None else b""
        try:
            token = json.loads(raw).get("access_token") if content_type == "application/json" else None
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token or await self._user_for_token(request, token) is None:
            return 403, b"Sesi tidak sah. / Invalid session."
        request.addCookie(SESSION_COOKIE, token, path=COOKIE_PATH, httpOnly=True, sameSite="strict", secure=self._secure)
        return 200, b"OK"

    # --- sessions ------------------------------------------------------------------

    async def _session(self, request: SynapseRequest) -> tuple[workflow.Viewer, str] | None:
        signed = await signed_in(self._api, request)
        if signed is None:
            return None
        user_id, token = signed
        return await self._service.viewer(user_id), token

    async def _user_for_token(self, request: SynapseRequest, token: str) -> str | None:
        return await user_for_token(self._api, request, token)

    def _to_sign_in(self, request: SynapseRequest) -> None:
        sign_in_redirect(request)

    def _render(self, template: str, request: SynapseRequest, session: tuple[workflow.Viewer, str] | None, **context: Any) -> bytes:
        viewer = session[0] if session else None
        return self._templates.get_template(template).render(
            viewer=viewer, csrf=csrf_token(session[1]) if session else "", now=now_ms(), **context
        ).encode("utf-8")


async def signed_in(api: ModuleApi, request: SynapseRequest) -> tuple[str, str] | None:
    """(user ID, access token) of the session cookie, or None: shared by every GovChat page behind sign-in."""
    raw = request.getCookie(SESSION_COOKIE.encode())
    token = raw.decode("ascii", errors="replace") if raw else ""
    user_id = await user_for_token(api, request, token) if token else None
    return (user_id, token) if user_id is not None else None


async def user_for_token(api: ModuleApi, request: SynapseRequest, token: str) -> str | None:
    # The module API authenticates requests by their Authorization header: give it the cookie's token.
    request.requestHeaders.setRawHeaders(b"Authorization", [f"Bearer {token}".encode()])
    try:
        requester = await api.get_user_by_req(request)
    except SynapseError:
        return None
    finally:
        request.requestHeaders.removeHeader(b"Authorization")
    return requester.user.to_string()


def sign_in_redirect(request: SynapseRequest) -> None:
    """Send a visitor without a session to the sign-in page, coming back here afterwards."""
    here = request.path.decode("utf-8", errors="replace")
    respond_with_redirect(request, f"{WEB_PREFIX}/sign-in?next={quote(here, safe='')}".encode())


async def _sign_out(api: ModuleApi, token: str) -> None:
    """End the session's access token (through Synapse's auth handler: see `end_session`)."""
    await synapse_internals.end_session(api, token)


def form_fields(request: SynapseRequest) -> dict[str, str]:
    """A posted HTML form's fields, first value of each."""
    args: dict[bytes, list[bytes]] = request.args or {}
    return {key.decode("utf-8", errors="replace"): values[0].decode("utf-8", errors="replace") for key, values in args.items() if values}


def _safe_next(raw: str | None) -> str:
    """Only GovChat's own pages (applications, content reports): never an open redirect."""
    return raw if raw and raw.startswith(SIGNED_IN_PAGES) and "//" not in raw and "\\" not in raw else WEB_PREFIX
