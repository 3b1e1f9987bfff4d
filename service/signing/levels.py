"""The PAdES levels the service seals at, one record each: what a level needs before it
can be made and what it adds after the seals. Adding a level is one record here (and the
steps its flags name); everything that chooses or compares a level reads these flags.

* B-T: each seal with a timestamp token (ETSI EN 319 142-1, 5.4).
* B-LTA: B-T, then the revocation data of every seal in a DSS and a document timestamp
  over it (5.6); renewed by another such revision before the timestamp's TSA certificate
  expires.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SealingError


@dataclass(frozen=True)
class SealLevel:
    name: str
    rank: int  # higher: proves more, for longer (``auto`` takes the highest that can be made)
    needs_revocation_data: bool  # revocation data of every seal gathered into a DSS
    archive_timestamp: bool  # a document timestamp over the DSS: long-term, and renewable
    title: str  # as the verification page names it

    def __str__(self) -> str:
        return self.name


B_T = SealLevel("B-T", 1, needs_revocation_data=False, archive_timestamp=False, title="带时间戳")
B_LTA = SealLevel("B-LTA", 2, needs_revocation_data=True, archive_timestamp=True, title="长期验证")
LEVELS: dict[str, SealLevel] = {level.name: level for level in (B_T, B_LTA)}


def seal_level(name: str | SealLevel) -> SealLevel:
    """The level named ``name`` (a level passes through); ``SealingError`` for another name."""
    if isinstance(name, SealLevel):
        return name
    try:
        return LEVELS[name]
    except KeyError:
        raise SealingError(f"unknown PAdES level {name!r}; use one of {', '.join(LEVELS)}") from None


def renewable_levels() -> list[str]:
    """The names of the levels whose documents are renewed (a new archive timestamp)."""
    return [level.name for level in LEVELS.values() if level.archive_timestamp]


def best_level(has_revocation_data: bool, has_tsa: bool) -> SealLevel:
    """The highest level that the means at hand can make (every level needs a TSA)."""
    possible = [
        level for level in LEVELS.values() if has_tsa and (has_revocation_data or not level.needs_revocation_data)
    ]
    return max(possible, key=lambda level: level.rank) if possible else B_T
