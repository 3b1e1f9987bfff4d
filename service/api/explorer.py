"""The API explorer at ``/docs``, served entirely by the service.

FastAPI's own ``/docs`` loads Swagger UI from a public CDN and starts it with an inline
script: blank in an offline deployment, and impossible to put under a content-security
policy. Here the page, its stylesheet and its scripts (Swagger UI as shipped by the
``fastapi-offline`` package) come from this service, and the page allows scripts from
this origin only (``service.api.security``).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from service.api.static import held_file_response

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

# Started from a file of its own, not inline, so that the policy needs no 'unsafe-inline'.
_START = b"""window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title} - API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body data-openapi="{openapi}">
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/start.js"></script>
</body>
</html>
"""


@dataclass(frozen=True)
class Asset:
    data: bytes
    media_type: str
    etag: str


def _asset(data: bytes, media_type: str) -> Asset:
    return Asset(data, media_type, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')


@cache
def explorer_assets() -> dict[str, Asset]:
    """The files the page loads, read once."""
    shipped = files("fastapi_offline") / "static"
    return {
        "swagger-ui-bundle.js": _asset((shipped / "swagger-ui-bundle.js").read_bytes(), "text/javascript"),
        "swagger-ui.css": _asset((shipped / "swagger-ui.css").read_bytes(), "text/css"),
        "start.js": _asset(_START, "text/javascript"),
    }


def install_explorer(app: FastAPI) -> None:
    """``/docs`` and its assets; the app is built with ``docs_url=None, redoc_url=None``."""
    if app.openapi_url is None:
        raise ValueError("the API explorer needs the app's OpenAPI document (openapi_url)")
    page = _PAGE.format(title=html.escape(app.title), assets=ASSETS_PATH, openapi=html.escape(app.openapi_url))

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    def asset(name: str, request: Request) -> Response:
        return held_file_response(explorer_assets().get(name), request)
