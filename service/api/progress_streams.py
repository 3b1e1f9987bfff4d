"""A job's progress as Server-Sent Events, for any number of followers at the cost of one.

Each open stream used to poll the registry on a thread of its own every half second: a
few hundred followers took every thread of the pool and the service stopped answering
(``/healthz`` in 30 s). Here one reader, on one thread of its own, reads every followed
job once per tick, and each stream is an async generator that waits for its job's next
change on the event loop: no thread per stream, and the registry read once per job per
tick whatever the number of followers.

Bounded: at most ``per_key`` streams per key and ``total`` per service process (beyond:
429, or 503, with Retry-After); a stream with nothing new for ``idle_seconds`` ends with an
``idle`` event (a client that still cares reconnects); a comment every ``keepalive``
seconds keeps proxies from closing a quiet stream early.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from starlette.responses import StreamingResponse

from service.errors import NotFound, RateLimited, Unavailable

log = logging.getLogger(__name__)
TERMINAL = ("done", "failed", "cancelled")


@dataclass
class _Followed:
    """One job as its followers see it: the last status read and a wake-up for the next."""

    status: dict
    followers: int = 0
    version: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False
    text: str = ""  # the progress event of this version, serialised once for every follower

    def __post_init__(self) -> None:
        self.text = _event("progress", self.status)

    def publish(self, status: dict | None) -> None:
        if status is None:
            self.gone = True
        else:
            self.status = status
            self.text = _event("progress", status)
        self.version += 1
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


def _snapshot(status: dict) -> tuple:
    return status["state"], status["done"], status["failed"], status["cancelled"], status.get("cancel_requested")


class ProgressStreams:
    """The service process's followers of batch jobs (``app.state.progress``)."""

    def __init__(
        self,
        read_status: Callable[[str], dict],
        *,
        per_key: int,
        total: int,
        interval: float = 0.5,
        idle_seconds: float = 600,
        keepalive: float = 15,
    ):
        """``read_status(job_id)``: the job's status (``NotFound`` once it is gone)."""
        self._read_status = read_status
        self.per_key, self.total = per_key, total
        self.interval, self.idle_seconds, self.keepalive = interval, idle_seconds, keepalive
        self._jobs: dict[str, _Followed] = {}
        self._by_key: Counter[str] = Counter()
        self._open = 0
        self._reader: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="progress-reader")

    @property
    def open_streams(self) -> int:
        return self._open

    def known_status(self, job_id: str) -> dict | None:
        """The status last read of a job already followed here (no registry read for the
        thousandth follower of a job: opening many streams at once costs one read)."""
        followed = self._jobs.get(job_id)
        return followed.status if followed is not None and not followed.gone else None

    def admit(self, key: str) -> None:
        """Room for one more stream of ``key``, or the refusal (before the stream starts)."""
        if self._by_key[key] >= self.per_key:
            raise RateLimited(
                f"同一密钥最多同时跟踪 {self.per_key} 个任务进度，请关闭不用的连接后重试", headers={"Retry-After": "10"}
            )
        if self._open >= self.total:
            raise Unavailable(
                "正在跟踪任务进度的连接过多，请稍后重试，或改为定时查询任务状态", headers={"Retry-After": "10"}
            )

    def response(self, job_id: str, key: str, first: dict, headers: dict[str, str]) -> StreamingResponse:
        """The events of one follower; ``first``: the status just read (a 404 came before).
        Counted from now until the response has ended, however it ends (the client gone
        before the first byte included: the release is the response's, not the generator's)."""
        self.admit(key)
        self._by_key[key] += 1
        self._open += 1
        followed = self._jobs.get(job_id)
        if followed is None:
            followed = self._jobs[job_id] = _Followed(first)
        followed.followers += 1
        self._start_reader()
        return _Released(
            self._events(followed),
            partial(self._leave, job_id, key, followed),
            media_type="text/event-stream",
            headers=headers,
        )

    async def _events(self, followed: _Followed) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        seen = -1
        quiet_since = loop.time()
        while True:
            if followed.gone:
                yield _event("end", {"state": "gone"})
                return
            if followed.version != seen:
                seen = followed.version
                quiet_since = loop.time()
                yield followed.text
                if followed.status["state"] in TERMINAL:
                    yield _event("end", {"state": followed.status["state"]})
                    return
            left = self.idle_seconds - (loop.time() - quiet_since)
            if left <= 0:
                yield _event("idle", {"state": followed.status["state"]})
                return
            try:
                await asyncio.wait_for(followed.changed.wait(), timeout=min(self.keepalive, left))
            except TimeoutError:
                if self.idle_seconds - (loop.time() - quiet_since) > 0:
                    yield ": keep-alive\n\n"

    def _leave(self, job_id: str, key: str, followed: _Followed) -> None:
        self._by_key[key] -= 1
        if self._by_key[key] <= 0:
            del self._by_key[key]
        self._open -= 1
        followed.followers -= 1
        if followed.followers <= 0 and self._jobs.get(job_id) is followed:
            del self._jobs[job_id]

    def _start_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_while_followed())

    async def _read_while_followed(self) -> None:
        loop = asyncio.get_running_loop()
        while self._jobs:
            await asyncio.sleep(self.interval)
            watched = {job_id: _snapshot(f.status) for job_id, f in self._jobs.items() if not f.gone}
            try:
                read = await loop.run_in_executor(self._thread, self._read_all, list(watched))
            except Exception:  # noqa: BLE001 - a registry hiccup: the next tick tries again
                log.warning("reading the progress of followed jobs failed; trying again", exc_info=True)
                continue
            for job_id, status in read.items():
                followed = self._jobs.get(job_id)
                if followed is None:
                    continue
                if status is None or _snapshot(status) != watched[job_id]:
                    followed.publish(status)

    def _read_all(self, job_ids: list[str]) -> dict[str, dict | None]:
        statuses: dict[str, dict | None] = {}
        for job_id in job_ids:
            try:
                statuses[job_id] = self._read_status(job_id)
            except NotFound:
                statuses[job_id] = None
        return statuses

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)


class _Released(StreamingResponse):
    """A streaming response that calls ``release`` when it is over, whatever ended it."""

    def __init__(self, content, release: Callable[[], None], **kwargs):
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
