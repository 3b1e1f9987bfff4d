"""Answering a static file the service holds in memory (page styles, the API explorer's assets)."""

from __future__ import annotations

from typing import Protocol

from fastapi import Request
from fastapi.responses import Response


class HeldFile(Protocol):
    # Read-only members: frozen dataclasses (their attributes cannot be set) are held files.
    @property
    def data(self) -> bytes: ...

    @property
    def etag(self) -> str: ...

    @property
    def media_type(self) -> str: ...


def held_file_response(found: HeldFile | None, request: Request) -> Response:
    """The file, or 304 when the browser has this version already, or 404; cached a day."""
    if found is None:
        return Response(status_code=404)
    headers = {"ETag": found.etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.media_type, headers=headers)
