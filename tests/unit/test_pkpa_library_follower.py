"""Bot-GovChat follows the library: rebuilds on a new revision, keeps what it has otherwise."""

from __future__ import annotations

import asyncio
from typing import Any

from bots.pkpa_bot.library_follower import LibraryFollower
from bots.pkpa_bot.search import SearchEngine, load_circulars
from bots.pkpa_bot.search.documents import Passage
from bots.pkpa_bot.search.library import Library


def follower_with(answers: list[Any]) -> tuple[LibraryFollower, list[SearchEngine], list[str]]:
    engines: list[SearchEngine] = []
    asked: list[str] = []
    follower = LibraryFollower("http://127.0.0.1:1", "token", engines.append)

    def fetch() -> dict[str, object]:
        asked.append(str(follower.revision))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    follower._fetch = fetch  # type: ignore[method-assign]
    return follower, engines, asked


def test_new_revision_rebuilds_the_engine_and_unchanged_keeps_it() -> None:
    library = Library(7, load_circulars()[:3], (Passage("PKPA-2-1991", "1.1", "MESYUARAT", "", "Minit mesyuarat disediakan oleh urus setia."),))
    follower, engines, asked = follower_with([library.to_json(), {"revision": 7, "unchanged": True}])
    assert asyncio.run(follower.refresh()) is True
    assert follower.revision == 7 and len(engines) == 1
    assert engines[0].search_passages("siapa sediakan minit mesyuarat").found
    assert asyncio.run(follower.refresh()) is False
    assert len(engines) == 1 and asked == ["None", "7"]


def test_an_unreachable_or_broken_library_keeps_the_current_engine() -> None:
    follower, engines, _ = follower_with([OSError("connection refused"), {"revision": 3}, {"circulars": []}])
    for _ in range(3):
        assert asyncio.run(follower.refresh()) is False
    assert engines == [] and follower.revision is None
