"""The answers to QR scans, kept a few seconds: a printed certificate is scanned again and
again, and its answer is the same until its status changes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable

from cachetools import TTLCache


class ScanCache:
    """(kind, token) → (status, body). Thread-safe: revocations drop entries from worker
    threads while scans read and fill it on the event loop, and cachetools is not."""

    def __init__(self, seconds: float, maxsize: int = 20_000):
        self._answers: TTLCache = TTLCache(maxsize=maxsize, ttl=seconds)
        self._lock = threading.Lock()
        # answers being made, by key (touched on the event loop only)
        self._making: dict[tuple[str, str], asyncio.Future] = {}

    async def answer(self, key: tuple[str, str], make: Callable[[], Awaitable[tuple]]) -> tuple:
        """The kept answer, or ``make()``'s, made once however many ask meanwhile: when the
        answer of a certificate scanned again and again expires, one request reads the
        registry and the others wait for its answer (each of them read it again before)."""
        kept = self.get(key)
        if kept is not None:
            return kept
        pending = self._making.get(key)
        if pending is not None:
            made = await asyncio.shield(pending)
            # None: the one making it failed (and answered its own error); try again.
            return made if made is not None else await make()
        future = asyncio.get_running_loop().create_future()
        self._making[key] = future
        made = None
        try:
            made = await make()
            self.put(key, made)
            return made
        finally:
            del self._making[key]
            future.set_result(made)

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
