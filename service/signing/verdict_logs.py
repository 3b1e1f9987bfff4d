"""pyHanko's log lines about a seal it cannot trust, without their tracebacks.

pyHanko logs a certificate it cannot chain to a trusted root, a chain that fails, or a
change after sealing that its policy refuses, each as a WARNING with the exception's
traceback attached. For this service these are verdicts (``unknown_key``, ``altered``)
that any member of the public can produce by uploading a file: one line each, not 20.
Tracebacks of anything else pyHanko logs stay, since those are not expected.
"""

from __future__ import annotations

import logging

from pyhanko.sign.diff_analysis.policy_api import SuspiciousModification
from pyhanko_certvalidator.errors import PathError, ValidationError

EXPECTED = (PathError, ValidationError, SuspiciousModification)
LOGGERS = ("pyhanko.sign.validation.generic_cms", "pyhanko.sign.diff_analysis.policies")


class DropExpectedTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], EXPECTED):
            name = type(record.exc_info[1]).__name__
            record.msg, record.args = f"{record.getMessage()} ({name})", ()
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Add the filter to the loggers that log verdicts (once per process; idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropExpectedTracebacks) for f in logger.filters):
            logger.addFilter(DropExpectedTracebacks())
