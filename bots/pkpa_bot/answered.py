"""Which questions the bot has answered, kept on disk so a restart never answers twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class AnsweredLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS answered (event_id TEXT PRIMARY KEY, answered_ts INTEGER NOT NULL)")
        self._db.commit()

    def claim(self, event_id: str, now_ms: int) -> bool:
        """True for the first claim of an event, False ever after (across restarts)."""
        cursor = self._db.execute("INSERT OR IGNORE INTO answered (event_id, answered_ts) VALUES (?, ?)", (event_id, now_ms))
        self._db.commit()
        return cursor.rowcount == 1

    def release(self, event_id: str) -> None:
        """Give a claim back when the answer could not be sent, so a later try may answer."""
        self._db.execute("DELETE FROM answered WHERE event_id = ?", (event_id,))
        self._db.commit()

    def close(self) -> None:
        self._db.close()
