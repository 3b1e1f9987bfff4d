"""Offline verification's routes (issue 23): the signed key list and status list under
/.well-known/zc/, and the installable offline verifier at /verify/offline.

Public: no key. The lists are made from the registry on each request (see
service.verification.published_lists); the page and its code come from templates/pages.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from service.api.deps import ServicesDep, get_web
from service.api.static import held_file_response
from service.verification.published_lists import list_signer_jwk, signed_key_list, signed_status_list

router = APIRouter(tags=["verification"])

MANIFEST = {
    "name": "职称电子证书离线查验",
    "short_name": "证书查验",
    "start_url": "/verify/offline",
    "scope": "/verify/offline",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#b30000",
    "icons": [],
}


def _json(body: dict, cache: str) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, media_type="application/json", headers={"Cache-Control": cache})


@router.get("/.well-known/zc/keys", summary="离线查验：签名密钥列表（JWS）")
async def key_list(request: Request, services: ServicesDep) -> Response:
    signer = get_web(request).list_signer
    body = await run_in_threadpool(signed_key_list, services.settings, services.sessions, signer, services.clock())
    return _json(body, "public, max-age=300")


@router.get("/.well-known/zc/status", summary="离线查验：撤销与换发状态列表（JWS）")
async def status_list(request: Request, services: ServicesDep) -> Response:
    signer = get_web(request).list_signer
    body = await run_in_threadpool(signed_status_list, services.settings, services.sessions, signer, services.clock())
    # a revocation must reach a verifier that goes online at once: no shared caching
    return _json(body, "no-cache")


@router.get("/verify/offline", response_class=HTMLResponse, include_in_schema=False)
def offline_page(request: Request) -> Response:
    web = get_web(request)
    html = web.pages.render("offline.html", list_key_json=json.dumps(list_signer_jwk(web.list_signer)))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/verify/offline/sw.js", include_in_schema=False)
def service_worker(request: Request) -> Response:
    response = held_file_response(get_web(request).pages.static.get("offline-sw.js"), request)
    # its scope is the page, one level above the script (and a new version is seen at once)
    response.headers["Service-Worker-Allowed"] = "/verify/offline"
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/verify/offline/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    data = json.dumps(MANIFEST, ensure_ascii=False).encode()
    return Response(data, media_type="application/manifest+json", headers={"Cache-Control": "public, max-age=86400"})
