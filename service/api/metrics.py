"""``GET /metrics``: the Prometheus metrics, for admin keys (unless ``ZC_METRICS_PORT`` serves
them on a port of their own; this route is then not there)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import require_role
from service.observability.metrics import exposition

router = APIRouter(tags=["admin"], dependencies=[Depends(require_role("admin"))])


@router.get("/metrics", summary="Prometheus 监控指标（管理员）", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    # A plain function: the batch progress is a registry read, on a thread.
    return Response(
        exposition(request.app.state.metrics_registry),
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )
