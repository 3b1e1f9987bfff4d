"""Every error leaves the service as JSON of one shape:
``{"error": code, "message": text, "errors": [{"path", "message", "type"}], "request_id": id}``,
with the request id in its ``X-Request-ID`` header too (an unexpected exception is answered
outside the request-id middleware), and counted by its code (``zc_errors_total``)."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from service.api.strict_body import BodyRefused
from service.contract.errors import field_errors_from_list
from service.errors import DatabaseUnavailable, ServiceError
from service.observability.context import current_request_id
from service.observability.metrics import count_error
from service.signing.errors import SigningError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, errors: list[dict] | None = None) -> dict:
    return {"error": code, "message": message, "errors": errors or [], "request_id": current_request_id()}


def error_response(body: dict, status_code: int, headers: dict | None = None) -> JSONResponse:
    """An error body as the answer: counted by its code, the request id in a header."""
    count_error(body["error"])
    headers = dict(headers or {})
    if body.get("request_id"):
        headers.setdefault("X-Request-ID", body["request_id"])
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return error_response(
        error_body(exc.code, exc.message, [e.to_dict() for e in exc.errors]),
        status_code=exc.status,
        headers=exc.headers,
    )


# Signing errors carry no HTTP meaning of their own (the core does not know
# HTTP); this is where they get one.
_SIGNING_STATUS = {
    "invalid_pdf": (422, "文件不是可读取的 PDF"),
    "encrypted_pdf": (422, "文件已加密，无法查验印章：请上传本服务签发的证书 PDF 原件"),
    "timestamp_failed": (503, "时间戳服务暂时不可用，请稍后重试"),
    "key_source": (503, "签章密钥暂时不可用，请联系管理员"),
    "sealing_failed": (500, "加盖电子印章失败，请联系管理员"),
    "dev_pki": (500, "开发用证书体系损坏，请联系管理员"),
}


def signing_status(exc: SigningError) -> tuple[int, str]:
    """The HTTP status and the Chinese message of a signing-layer error."""
    return _SIGNING_STATUS.get(exc.code, (500, "签章服务内部错误"))


async def _signing_error(request: Request, exc: SigningError) -> JSONResponse:
    status, message = signing_status(exc)
    if status >= 500:
        log.error("signing error on %s %s: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": "30"} if status == 503 else None
    return error_response(error_body(exc.code, message), status_code=status, headers=headers)


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    # A body's fields by their path inside the body, as the contract's own errors name them.
    errors = field_errors_from_list(
        [{**e, "loc": tuple(e["loc"])[1:] if tuple(e["loc"])[:1] == ("body",) else e["loc"]} for e in exc.errors()]
    )
    return error_response(
        error_body("invalid_input", f"请求有 {len(errors)} 处错误，请按提示修改", [e.to_dict() for e in errors]),
        status_code=422,
    )


async def _body_refused(request: Request, exc: BodyRefused) -> JSONResponse:
    return await _service_error(request, exc.error)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Starlette's and FastAPI's own refusals carry English details: say them in Chinese.
    messages = {
        400: "请求无法解析：请求体应为 UTF-8 编码的合法 JSON",
        404: "没有这个地址",
        405: "不支持该请求方法",
        413: "请求体过大",
        415: "不支持该请求内容类型",
    }
    return error_response(
        error_body("http_error", messages.get(exc.status_code, str(exc.detail))),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _database_down(request: Request, exc: DBAPIError | psycopg.Error) -> JSONResponse:
    # Connection refused or killed, or SQLite locked past its timeout: nothing was changed
    # (the transaction rolled back); the pool drops the dead connection, so it recovers.
    log.error("registry unavailable on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
    return await _service_error(
        request, DatabaseUnavailable("数据库暂时不可用，请稍后重试", headers={"Retry-After": "5"})
    )


async def _client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
    # The client hung up before its body arrived: nothing to answer, nothing went wrong here.
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return error_response(error_body("client_disconnected", "客户端已断开连接"), status_code=400)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(error_body("internal_error", "服务内部错误，请稍后重试或联系管理员"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types every handler as taking any Exception; each is called only with its own
    # class's, which is what these take.
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(SigningError, _signing_error)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(RequestValidationError, _request_validation)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(BodyRefused, _body_refused)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(OperationalError, _database_down)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(InterfaceError, _database_down)  # type: ignore[arg-type]  # see above
    # The scan page's reads on the event loop speak psycopg itself (service.registry.scan_reads).
    app.add_exception_handler(psycopg.OperationalError, _database_down)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(psycopg.InterfaceError, _database_down)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(ClientDisconnect, _client_gone)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(Exception, _unexpected)
