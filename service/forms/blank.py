"""The stand-in payload of a printable blank form.

A template written for real data prints a blank form when given ``BLANK``
as its data: every field is empty, every list has no rows, every date is
unset. Templates check ``blank`` where a hand-filled form needs something
else than 无 (empty ruled rows, 年 月 日).
"""

from __future__ import annotations


class Blank:
    __slots__ = ()

    def __getattr__(self, name: str) -> Blank:
        if name.startswith("__"):
            raise AttributeError(name)
        return BLANK

    def __getitem__(self, key) -> Blank:
        return BLANK

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""

    def __html__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "BLANK"


BLANK = Blank()
