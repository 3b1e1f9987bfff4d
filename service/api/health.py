"""``/healthz``: the registry answers, and whether the service runs at full speed."""

from fastapi import APIRouter, Request

from service.api.deps import ServicesDep
from service.registry.db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="存活与就绪检查")
def healthz(request: Request, services: ServicesDep) -> dict:
    ping(services.sessions)
    reasons = getattr(request.app.state, "degraded", [])
    if reasons:
        # Still serving (200): the documents are right, only slower; the reasons say what to install.
        return {"status": "degraded", "reasons": reasons}
    return {"status": "ok"}
