"""A per-client rate limit for the open pre-check (a sliding window in this process)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most `per_minute` requests per client key in any 60 seconds."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float | None:
        """None when allowed (and counted); else the seconds until the next is allowed."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.0, hits[0] + 60 - now)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients; bounded memory
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return None
