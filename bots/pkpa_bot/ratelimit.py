"""A per-user token bucket: a burst of questions, then a steady rate."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    per_minute: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, user_id: str, now_seconds: float) -> bool:
        tokens, last = self._buckets.get(user_id, (float(self.burst), now_seconds))
        tokens = min(float(self.burst), tokens + (now_seconds - last) * self.per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[user_id] = (tokens, now_seconds)
            return False
        self._buckets[user_id] = (tokens - 1.0, now_seconds)
        return True
