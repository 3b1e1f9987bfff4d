"""``/healthz``: the registry answers, and whether the service runs at full speed."""

from fastapi import APIRouter, Request
from sqlalchemy import text

from service.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="存活与就绪检查")
def healthz(request: Request, services: ServicesDep) -> dict:
    with services.sessions() as session:
        session.execute(text("SELECT 1"))
    reasons = getattr(request.app.state, "degraded", [])
    if reasons:
        # Still serving (200): the documents are right, only slower; the reasons say what to install.
        return {"status": "degraded", "reasons": reasons}
    return {"status": "ok"}
