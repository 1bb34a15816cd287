"""A per-user token bucket, kept in this Synapse process's memory.

Per process on purpose, for now: one GovChat homeserver is one process. With
Synapse workers each worker serving this resource keeps its own buckets, so a
user's real limit is the configured one times the number of such workers (route
the GCMeet path to one worker to keep it exact). See docs/gcmeet.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# Buckets that have refilled to full are forgotten once this many users are tracked.
_PRUNE_AT = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    def __init__(self, per_minute: int, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, now: float) -> bool:
        """Take one request from the key's bucket; False when it is empty."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(tokens=self._burst, updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def retry_after_ms(self, key: str) -> int:
        bucket = self._buckets.get(key)
        missing = 1.0 - (bucket.tokens if bucket else self._burst)
        return max(0, int(missing / self._rate * 1000) + 1)

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
