"""Keeps Bot-GovChat's search on the current circulars library, without a restart.

Every ``POLL_SECONDS`` the bot asks GovChat's library API whether the
library's revision changed (``GET .../circulars/library?since=REV``) and, when
it did, rebuilds its search engine from the library it receives. Until the
first answer it searches the researched catalogue shipped with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client import Gauge

from bots.pkpa_bot.search import SearchEngine
from bots.pkpa_bot.search.library import Library, from_json

logger = logging.getLogger(__name__)

POLL_SECONDS = 15.0  # administrators' changes reach the bot well within a minute
LIBRARY_PATH = "/_synapse/client/govchat/v1/circulars/library"
REVISION = Gauge("govchat_bot_library_revision", "Revision of the circulars library Bot-GovChat searches")


class LibraryFollower:
    def __init__(self, homeserver: str, access_token: str, on_change: Callable[[SearchEngine], None]) -> None:
        self._homeserver = homeserver.rstrip("/")
        self._access_token = access_token
        self._on_change = on_change
        self.revision: int | None = None

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(POLL_SECONDS)

    async def refresh(self) -> bool:
        """Fetch the library if it changed; True when the engine was rebuilt."""
        try:
            payload = await asyncio.to_thread(self._fetch)
            if payload.get("unchanged"):
                return False
            library = from_json(payload)
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("Cannot fetch the circulars library (%s); keeping revision %s", error, self.revision)
            return False
        self._install(library, await asyncio.to_thread(library.engine))
        return True

    def _install(self, library: Library, engine: SearchEngine) -> None:
        self._on_change(engine)
        self.revision = library.revision
        REVISION.set(library.revision)
        logger.info("Circulars library revision %d: %d circulars, %d paragraphs", library.revision, len(library.circulars), len(library.passages))

    def _fetch(self) -> dict[str, object]:
        since = f"?since={self.revision}" if self.revision is not None else ""
        request = urllib.request.Request(f"{self._homeserver}{LIBRARY_PATH}{since}")
        request.add_header("Authorization", f"Bearer {self._access_token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        if not isinstance(answer, dict):
            raise ValueError("the library answer is not a JSON object")
        return answer
