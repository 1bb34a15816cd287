"""Search over Malaysian government circulars (PKPA, PA, SPA, ...).

Typical use::

    from bots.pkpa_bot.search import SearchEngine

    engine = SearchEngine()
    result = engine.search("pekeliling tentang pengkomputeran awan")
    if result.found:
        for circular in result.circulars:
            print(circular.display_id, circular.title_ms)
"""

from .corpus import Circular, display_id, load_circulars
from .documents import DocumentError, Passage, read_document, split_sections
from .engine import Hit, SearchEngine, SearchResult
from .library import Library
from .passages import PassageAnswer, PassageHit

__all__ = [
    "Circular",
    "DocumentError",
    "Library",
    "Passage",
    "PassageAnswer",
    "PassageHit",
    "read_document",
    "split_sections",
    "Hit",
    "SearchEngine",
    "SearchResult",
    "display_id",
    "load_circulars",
]
