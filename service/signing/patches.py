"""What the service changes in pyHanko, installed once, explicitly, at start-up (by the
composition root, ``service.services.build_services``, in every process that seals or
validates; by a benchmark or test that calls the core directly), never as a side effect
of an import.

* :mod:`.hexstrings`: pyHanko's hex-string reader, one slice instead of a digit per step
  (the same values, positions and errors; about a third of a seal's time);
* :mod:`.verdict_logs`: an untrusted or altered seal logged as one line, not a traceback.
"""

from __future__ import annotations

from . import hexstrings, verdict_logs


def install_pyhanko_patches() -> None:
    """Idempotent: installing twice is installing once."""
    hexstrings.install()
    verdict_logs.install()
