"""Serves the portal's pages under /_synapse/client/govchat/portal, in Malay (default) or English (?lang=en).

Pages are plain Jinja2 templates with no remote assets (R8.1); nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from synapse.http.site import SynapseRequest
from synapse.module_api import DirectServeHtmlResource, ModuleApi

from synapse_modules.circulars.service import LibraryService
from synapse_modules.circulars.servlets import search_answer
from synapse_modules.common.http import path_segments, query_value
from synapse_modules.portal.config import PortalConfig, parse_portal_config

PORTAL_PREFIX = "/_synapse/client/govchat/portal"
# page name in the URL -> (template, Malay title, English title)
PAGES: dict[str, tuple[str, str, str]] = {
    "": ("home.html", "Portal GovChat", "GovChat portal"),
    "register": ("register.html", "Cara mendaftar", "How to register"),
    "apps": ("apps.html", "Aplikasi untuk GovChat", "Apps for GovChat"),
    "passwords": ("passwords.html", "Kata laluan", "Passwords"),
    "guide": ("guide.html", "Panduan pengguna", "User guide"),
    "faq": ("faq.html", "Soalan lazim", "Frequently asked questions"),
    "helpdesk": ("helpdesk.html", "Meja bantuan", "Helpdesk"),
    "circulars": ("circulars.html", "Pekeliling", "Circulars"),
}
MAX_QUESTION = 300


class PortalPages(DirectServeHtmlResource):
    isLeaf = True

    def __init__(self, api: ModuleApi, config: PortalConfig) -> None:
        super().__init__()
        self._api = api
        self._config = config
        self._library = LibraryService(api)
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True, undefined=jinja2.StrictUndefined
        )

    async def _async_render_GET(self, request: SynapseRequest) -> tuple[int, bytes]:
        parts = path_segments(request)
        name = parts[0] if len(parts) == 1 else ("" if not parts else None)
        lang = "en" if query_value(request, "lang") == "en" else "ms"
        if name not in PAGES:
            return 404, self._render("not_found.html", "", lang)
        if name == "circulars":
            return 200, await self._circulars_page(request, lang)
        return 200, self._render(PAGES[name][0], name, lang)

    async def _circulars_page(self, request: SynapseRequest, lang: str) -> bytes:
        """The same search as Bot-GovChat, over public circulars: no sign-in on the portal."""
        question = " ".join((query_value(request, "q") or "").split())[:MAX_QUESTION]
        answer: dict[str, Any] = {"passages": [], "circulars": []}
        if question:
            engine = await self._library.engine(public_only=True)
            answer = search_answer(engine, question)
            for item in answer["passages"]:
                item["pieces"] = _pieces(item["quote"], item["highlights"])
                item["status_text"] = _status_text(item["status"], item["superseded_by"], lang)
            for item in answer["circulars"]:
                item["status_text"] = _status_text(item["status"], item["superseded_by"], lang)
        return self._render("circulars.html", "circulars", lang, question=question, answer=answer)

    def _render(self, template: str, page: str, lang: str, **extra: Any) -> bytes:
        title = PAGES.get(page, ("", "Tiada halaman", "Page not found"))[1 if lang == "ms" else 2]
        context: dict[str, Any] = {
            "lang": lang,
            "en": lang == "en",
            "page": page,
            "title": title,
            "pages": PAGES,
            "prefix": PORTAL_PREFIX,
            "server_name": self._api.server_name,
            "homeserver_url": self._api.public_baseurl,
            "helpdesk": self._config,
            **extra,
        }
        return self._templates.get_template(template).render(context).encode("utf-8")


STATUS_WORDS = {
    "cancelled": ("dibatalkan", "cancelled"),
    "amended": ("dipinda", "amended"),
    "in force": ("berkuat kuasa", "in force"),
}


def _status_text(status: str, superseded_by: str, lang: str) -> str:
    malay, english = STATUS_WORDS.get(status, ("tidak pasti", "unknown"))
    text = english if lang == "en" else malay
    if superseded_by:
        text += f" ({'superseded by' if lang == 'en' else 'digantikan oleh'} {superseded_by})"
    return text


def _pieces(text: str, spans: list[list[int]]) -> list[tuple[str, bool]]:
    """The quote cut into plain and highlighted pieces (the template escapes each)."""
    pieces, last = [], 0
    for start, end in spans:
        pieces.append((text[last:start], False))
        pieces.append((text[start:end], True))
        last = end
    pieces.append((text[last:], False))
    return pieces


class Portal:
    def __init__(self, config: PortalConfig, api: ModuleApi) -> None:
        api.register_web_resource(PORTAL_PREFIX, PortalPages(api, config))

    @staticmethod
    def parse_config(config: dict[str, Any]) -> PortalConfig:
        return parse_portal_config(config)
