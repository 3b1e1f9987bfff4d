"""JSON bodies that FastAPI parses for a route (``body: Model``) read as strictly as the
contract's own (``service.contract.parse``), within the configured size.

FastAPI reads such a body with ``json.loads``, without a size limit, and turns whatever
that raises besides a ``JSONDecodeError`` (nesting too deep, an integer of 5,000 digits)
into a 400 "There was an error parsing the body". Routers built with
``route_class=StrictJsonRoute`` read it with the contract's strict reader instead; its
refusal travels out as an ``HTTPException`` (the one kind FastAPI lets through unchanged
while reading a body) and leaves as the ``ServiceError`` it carries.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from service.contract.parse import parse_json
from service.errors import FieldError, ServiceError, TooLarge, UnsupportedMedia

# Bodies up to this size are parsed on the event loop: a thread costs more than they do.
_INLINE_BYTES = 64 * 1024


class BodyRefused(HTTPException):
    """A body refused while FastAPI read it; ``error`` is the answer to give."""

    def __init__(self, error: ServiceError):
        super().__init__(status_code=error.status, detail=error.message)
        self.error = error


def refuse_encoded(request: Request) -> None:
    """A compressed body (``Content-Encoding: gzip``) is refused, never inflated: nothing
    in the service expects one, and inflating it unbounded is how a gzip bomb works."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        message = f"不接受压缩的请求体（Content-Encoding: {encoding[:40]}）：请发送未压缩的内容"
        raise UnsupportedMedia(message, errors=[FieldError("header.content-encoding", message, "encoded_body")])


class StrictJsonRequest(Request):
    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            try:
                refuse_encoded(self)
            except ServiceError as exc:
                raise BodyRefused(exc) from None
            limit = self.app.state.services.settings.limits.max_body_bytes
            received = bytearray()
            async for chunk in self.stream():
                received += chunk
                if len(received) > limit:
                    message = f"请求体过大：最多 {limit / 1048576:.0f} MB"
                    raise BodyRefused(TooLarge(message, errors=[FieldError("(body)", message, "too_large")]))
            self._body = bytes(received)
        return self._body

    async def json(self):
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                if len(body) <= _INLINE_BYTES:
                    self._json = parse_json(body)
                else:
                    self._json = await run_in_threadpool(parse_json, body)
            except ServiceError as exc:
                raise BodyRefused(exc) from None
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by :class:`StrictJsonRequest`."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict(request: Request):
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
