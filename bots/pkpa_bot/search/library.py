"""The circulars library as plain values: what the bot, the portal and the evaluation search.

GovChat keeps the library in the homeserver's database (see
``synapse_modules/circulars``); it travels to the bot as JSON (``to_json`` /
``from_json``) and the evaluation reads it straight from the database.
``revision`` grows with every change, so a reader knows when to rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .corpus import Circular, load_circulars
from .documents import Passage
from .engine import SearchEngine


@dataclass(frozen=True)
class Library:
    revision: int
    circulars: tuple[Circular, ...]
    passages: tuple[Passage, ...] = ()

    def engine(self) -> SearchEngine:
        return SearchEngine(self.circulars, self.passages)

    def public_only(self) -> Library:
        public = tuple(c for c in self.circulars if c.public)
        ids = {c.id for c in public}
        return Library(self.revision, public, tuple(p for p in self.passages if p.circular_id in ids))

    def to_json(self) -> dict[str, Any]:
        passages_by_id: dict[str, list[dict[str, str]]] = {}
        for passage in self.passages:
            item = {"section": passage.section, "heading": passage.heading, "label": passage.label, "text": passage.text}
            passages_by_id.setdefault(passage.circular_id, []).append(item)
        return {
            "revision": self.revision,
            "circulars": [dict(asdict(c), passages=passages_by_id.get(c.id, [])) for c in self.circulars],
        }


def from_json(payload: dict[str, Any]) -> Library:
    """The library sent by ``Library.to_json``; KeyError/TypeError/ValueError when malformed."""
    circulars: list[Circular] = []
    passages: list[Passage] = []
    for item in payload["circulars"]:
        fields = {key: value for key, value in item.items() if key != "passages"}
        circular = Circular(**fields)
        circulars.append(circular)
        passages.extend(
            Passage(circular.id, str(p["section"]), str(p["heading"]), str(p["label"]), str(p["text"]))
            for p in item.get("passages", [])
        )
    return Library(int(payload["revision"]), tuple(circulars), tuple(passages))


def starting_catalogue() -> Library:
    """The researched catalogue shipped with the bot (revision 0): the library's first contents."""
    return Library(0, load_circulars())


def with_passages(circulars: Iterable[Circular], passages: Iterable[Passage], revision: int) -> Library:
    return Library(revision, tuple(circulars), tuple(passages))
