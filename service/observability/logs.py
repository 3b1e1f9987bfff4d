"""Log lines: one JSON object per line (``ZC_LOG_FORMAT=json``, the default of ``serve`` and
``worker``) or one readable line (``text``), each with the request id of the work at hand.

One ``logging.config`` dictionary serves the command line, the worker processes and
uvicorn (``log_config``, which it applies again in each of its worker processes)."""

from __future__ import annotations

import logging
import logging.config

from service.observability.context import current_request_id
from service.runtime import QUIET_LOGGERS

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# Record attributes that never become JSON fields: logging's own, and uvicorn's copy of
# its message with terminal colours.
_SKIPPED = ("color_message",)


class RequestIdFilter(logging.Filter):
    """Puts the request id of the work at hand on every record (a handler's filter: it sees
    the records of every logger, uvicorn's included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


def make_formatter(format: str = "json") -> logging.Formatter:
    """``json``: {"ts", "level", "logger", "message", "request_id"?, "exception"?, extras};
    non-ASCII text kept as it is (a Chinese message stays readable)."""
    if format == "text":
        return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        timestamp="ts",
        json_ensure_ascii=False,
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        reserved_attrs=[*RESERVED_ATTRS, *_SKIPPED],
    )


def logging_config(format: str = "json", level: str = "INFO") -> dict:
    """The ``logging.config.dictConfig`` dictionary: everything to stderr through one
    handler; uvicorn's loggers through it too (its access log is off: the service writes
    one access line per request itself, with the route and the request id)."""
    if format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": {"()": make_formatter, "format": format}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["default"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
            # one line per migration step on every command drowns the one line that matters
            "alembic": {"level": "WARNING"},
            # quiet from the start, in every process (uvicorn's import the app before it is built)
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        },
    }


def configure_logging(format: str = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(format, level))
