"""Security headers for the public pages: strict CSP, no referrer, no sniffing, no framing."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_HEADERS = {
    # Same-origin stylesheets and images only; no script at all; forms post back here only.
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}
# The staff pages run one script of this service (live progress) and listen to its events.
# Their referrer policy is same-origin, not no-referrer: under no-referrer a browser posts
# their own forms with "Origin: null", and the Origin check (service.api.staff) must be
# able to tell this service's forms from another site's.
STAFF_HEADERS = {
    **PAGE_HEADERS,
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
# The API explorer (/docs): Swagger UI's scripts and stylesheet, all served from here
# (service.api.explorer); it sets style attributes from its scripts, and fetches the schema
# and tries requests against this origin only.
EXPLORER_HEADERS = {
    **PAGE_HEADERS,
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
# The offline verifier (/verify/offline): its own scripts, a service worker and a manifest
# of this origin, the camera for scanning, the lists fetched from here.
OFFLINE_HEADERS = {
    **PAGE_HEADERS,
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "worker-src 'self'; manifest-src 'self'; media-src 'self' blob:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
API_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot scan path)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._pages = [(k.encode(), v.encode()) for k, v in PAGE_HEADERS.items()]
        self._staff = [(k.encode(), v.encode()) for k, v in STAFF_HEADERS.items()]
        self._explorer = [(k.encode(), v.encode()) for k, v in EXPLORER_HEADERS.items()]
        self._offline = [(k.encode(), v.encode()) for k, v in OFFLINE_HEADERS.items()]
        self._api = [(k.encode(), v.encode()) for k, v in API_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        explorer = path == "/docs"
        staff = path.startswith("/staff")
        offline = path == "/verify/offline"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower(): value for name, value in headers}
                # The strict policy is for our HTML pages; a PDF opened in the
                # browser's viewer would be blocked by it.
                html = present.get(b"content-type", b"").startswith(b"text/html")
                page = (
                    self._explorer if explorer else self._staff if staff else self._offline if offline else self._pages
                )
                extra = page if html else self._api
                message["headers"] = headers + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
