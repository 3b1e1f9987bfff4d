"""The answers to QR scans, kept a few seconds: a printed certificate is scanned again and
again, and its answer is the same until its status changes."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from cachetools import TTLCache


class ScanCache:
    """(kind, token) → (status, body). Thread-safe: revocations drop entries from worker
    threads while scans read and fill it on the event loop, and cachetools is not."""

    def __init__(self, seconds: float, maxsize: int = 20_000):
        self._answers: TTLCache = TTLCache(maxsize=maxsize, ttl=seconds)
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple | None:
        with self._lock:
            return self._answers.get(key)

    def put(self, key: tuple[str, str], answer: tuple) -> None:
        with self._lock:
            self._answers[key] = answer

    def forget(self, tokens: Iterable[str]) -> None:
        with self._lock:
            for token in tokens:
                for kind in ("page", "json"):
                    self._answers.pop((kind, token), None)
