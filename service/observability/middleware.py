"""``RequestContext``: the request id, the access line and the request metrics of every
HTTP request. Pure ASGI (BaseHTTPMiddleware would buffer streamed answers: archives,
Server-Sent Events)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability import metrics
from service.observability.context import accepted_request_id, set_request_id

HEADER = b"x-request-id"
access_log = logging.getLogger("service.access")


def route_of(scope: Scope) -> str:
    """The template of the route that answered (``/v/{token}``), or ``unmatched``: a label
    of bounded cardinality, whatever paths are asked for."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else "unmatched"


class RequestContext:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope.get("headers", ()) if name == HEADER), None)
        request_id = accepted_request_id(incoming.decode("latin-1") if incoming is not None else None)
        # Left set when the request ends: each request runs in a task of its own, and the
        # error handler of an unexpected exception (outside this middleware) still needs it.
        set_request_id(request_id)
        started = time.perf_counter()
        status = 500
        header = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == HEADER for name, _ in headers):
                    headers.append(header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            metrics.count_request(route, scope.get("method", ""), status, seconds)
            # The route's template, not the path: a path holds QR tokens (the key to a holder's
            # page) and certificate numbers, which the access log must not collect.
            shown = route if route != "unmatched" else scope.get("path", "")[:200]
            access_log.info(
                "%s %s %d %.0f ms",
                scope.get("method", ""),
                shown,
                status,
                seconds * 1000,
                extra={
                    "method": scope.get("method", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
