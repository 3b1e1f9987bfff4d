from fastapi import APIRouter
from sqlalchemy import text

from service.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="存活与就绪检查")
def healthz(services: ServicesDep) -> dict:
    with services.sessions() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}
