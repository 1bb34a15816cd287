"""The circulars library for Synapse processes: reads, administrator changes, search.

Every decision reads the database. The only thing a process keeps is a search
index built from the library, tagged with the revision it was built from and
rebuilt as soon as the database's revision differs, so any worker answers from
the current library.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from synapse.module_api import ModuleApi

from bots.pkpa_bot.search import SearchEngine
from bots.pkpa_bot.search.corpus import Circular
from bots.pkpa_bot.search.library import Library
from synapse_modules.circulars import rules, store

logger = logging.getLogger(__name__)

UNKNOWN_CIRCULAR = "Tiada pekeliling {id} dalam perpustakaan. / There is no circular {id} in the library."


@dataclass
class _Built:
    revision: int
    library: Library
    engines: dict[bool, SearchEngine]


class LibraryService:
    def __init__(self, api: ModuleApi) -> None:
        self._api = api
        self._seeded = False
        self._built: _Built | None = None

    # -- reading ------------------------------------------------------------

    async def revision(self) -> int:
        await self._ensure_ready()
        revision = await self._api.run_db_interaction("govchat_circulars_revision", store.read_revision)
        return int(revision or 0)

    async def library(self, public_only: bool) -> Library:
        built = await self._current()
        return built.library.public_only() if public_only else built.library

    async def engine(self, public_only: bool) -> SearchEngine:
        built = await self._current()
        if public_only not in built.engines:
            # Indexing takes tens of milliseconds: off the reactor thread.
            library = built.library.public_only() if public_only else built.library
            built.engines[public_only] = await self._api.defer_to_thread(library.engine)
        return built.engines[public_only]

    async def listing(self) -> list[dict[str, Any]]:
        library = await self.library(public_only=False)
        counts = await self._api.run_db_interaction("govchat_circulars_passage_counts", store.read_passage_counts)
        return [describe(circular, counts.get(circular.id, 0)) for circular in library.circulars]

    # -- administrator changes ------------------------------------------------

    async def import_document(self, raw_id: str, body: Any) -> dict[str, Any]:
        circular_id = rules.parse_circular_id(raw_id)
        library = await self.library(public_only=False)
        existing = next((c for c in library.circulars if c.id == circular_id), None)
        # Reading a PDF can take seconds: off the reactor thread, so other requests go on.
        known = {c.id for c in library.circulars}
        plan = await self._api.defer_to_thread(rules.parse_import, circular_id, body, existing, known)
        now = self._api.get_current_time_msec()
        await self._api.run_db_interaction("govchat_circulars_import", store.write_import, plan.circular, plan.passages, now)
        logger.info("Imported %s: %d paragraphs", circular_id, len(plan.passages))
        return describe(plan.circular, len(plan.passages))

    async def set_status(self, raw_id: str, body: Any) -> dict[str, Any]:
        circular_id = rules.parse_circular_id(raw_id)
        library = await self.library(public_only=False)
        known = {c.id for c in library.circulars}
        if circular_id not in known:
            raise rules.InvalidRequest("circular_id", UNKNOWN_CIRCULAR.format(id=circular_id), status=404)
        status, superseded_by = rules.parse_status_change(body, circular_id, known)
        now = self._api.get_current_time_msec()
        changed = await self._api.run_db_interaction(
            "govchat_circulars_status", store.write_status, circular_id, status, superseded_by, now
        )
        if not changed:  # removed by another administrator meanwhile
            raise rules.InvalidRequest("circular_id", UNKNOWN_CIRCULAR.format(id=circular_id), status=404)
        circular = await self._api.run_db_interaction("govchat_circulars_read", store.read_circular, circular_id)
        if circular is None:
            raise rules.InvalidRequest("circular_id", UNKNOWN_CIRCULAR.format(id=circular_id), status=404)
        counts = await self._api.run_db_interaction("govchat_circulars_passage_counts", store.read_passage_counts)
        return describe(circular, counts.get(circular_id, 0))

    async def remove(self, raw_id: str) -> dict[str, Any]:
        circular_id = rules.parse_circular_id(raw_id)
        await self._ensure_ready()
        removed = await self._api.run_db_interaction("govchat_circulars_remove", store.delete_circular, circular_id)
        if not removed:
            raise rules.InvalidRequest("circular_id", UNKNOWN_CIRCULAR.format(id=circular_id), status=404)
        return {"removed": circular_id}

    # -- internals --------------------------------------------------------------

    async def _current(self) -> _Built:
        revision = await self.revision()
        if self._built is None or self._built.revision != revision:
            library = await self._api.run_db_interaction("govchat_circulars_library", store.read_library)
            self._built = _Built(library.revision, library, {})
        return self._built

    async def _ensure_ready(self) -> None:
        """A new library starts with the researched catalogue (the tables come from the schema step)."""
        if self._seeded:
            return
        try:
            now = self._api.get_current_time_msec()
            if await self._api.run_db_interaction("govchat_circulars_seed", store.seed_if_empty, now):
                logger.info("Circulars library started from the researched catalogue")
        except Exception:  # another process seeded it at the same moment; its rows stand
            if await self._api.run_db_interaction("govchat_circulars_revision", store.read_revision) is None:
                raise
        self._seeded = True


def describe(circular: Circular, passage_count: int) -> dict[str, Any]:
    return {
        "id": circular.id,
        "kind": circular.kind,
        "number": circular.number,
        "year": circular.year,
        "date": circular.date,
        "title_ms": circular.title_ms,
        "subject_en": circular.subject_en,
        "status": circular.status_code,
        "status_note": circular.status,
        "superseded_by": circular.superseded_by,
        "public": circular.public,
        "passages": passage_count,
    }
