"""A real RFC 3161 time-stamping authority, over HTTP: the edge of the signing core,
which takes any pyHanko ``TimeStamper`` (the development one is in-process and pure)."""

from __future__ import annotations

from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper


def build_http_timestamper(url: str, timeout: float = 10, auth: tuple[str, str] | None = None) -> TimeStamper:
    """A real RFC 3161 TSA. Its aiohttp session lives in the event loop that first uses it."""
    return HTTPTimeStamper(url, timeout=timeout, auth=auth)
