"""The service's errors, mapped to HTTP in one place (``service.api.errors``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One bad field: its JSON path (``applicant.birth_date``) and a message a clerk can act on."""

    path: str
    message: str
    type: str = "invalid"

    def to_dict(self) -> dict:
        return {"path": self.path, "message": self.message, "type": self.type}


class ServiceError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, errors: list[FieldError] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.headers = headers or {}

    def __reduce__(self):
        # Errors travel back from worker processes pickled: keep the field errors and headers.
        return (_rebuild, (type(self), self.message, self.errors, self.headers))


def _rebuild(cls: type[ServiceError], message: str, errors: list[FieldError], headers: dict) -> ServiceError:
    return cls(message, errors=errors, headers=headers)


class InvalidInput(ServiceError):
    status = 422
    code = "invalid_input"


class TooMuchContent(InvalidInput):
    """A task ran into its worker's memory ceiling (service.workers.ceiling): the input
    holds more than the service will take apart, whatever its size on the wire."""

    code = "too_much_content"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class UnsupportedMedia(ServiceError):
    status = 415
    code = "unsupported_media_type"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"


class StorageUnavailable(Unavailable):
    """The file store cannot take a file (disk full, read-only, gone): nothing is recorded."""

    code = "storage_unavailable"


class DatabaseUnavailable(Unavailable):
    """The registry cannot be reached or is locked: nothing was changed."""

    code = "database_unavailable"
