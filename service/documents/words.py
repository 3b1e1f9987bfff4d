"""Where a Chinese text may break: between its words, never inside one.

Pango breaks Chinese between any two ideographs, so a short value set in a cell
one character too narrow prints 「高级教|师」 or 「化学工|程与工艺」; a typesetter breaks
it between words (「化学工程 | 与工艺」) or sets it a step smaller. The words come from a
segmenter: rjieba (jieba-rs, the Rust port of jieba, by messense) was chosen by
measurement over jieba and jieba_fast (bench/results/words.md, one run: the same cuts
of every field tried, 1.6 µs a value against 13 and 36 µs, and its dictionary built
in 0.13 s against 1.0–1.5 s), with the service's own terms (``words.txt``: titles,
series, the parts of an organisation's name) and the province profile's vocabulary
added as words, so that 正高级工程师 and 职称改革工作领导小组 are never cut.

Pure apart from the shipped dictionary: a text in, its words out, the same every time
(jieba's cut without the HMM, which would guess words unknown to the dictionary).
A segmenter is built once per set of terms, on first use, never at import time.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

_SHIPPED = Path(__file__).with_name("words.txt")
# Runs of ideographs are what the segmenter cuts; anything else keeps its own rules.
IDEOGRAPHS = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
# A word of the dictionary weighs this much more than the words it could be cut into:
# jieba prefers the segmentation of the highest product of frequencies.
_TERM_FREQUENCY = 100_000


class Segmenter:
    """Cuts runs of ideographs into words, the terms it was given kept whole."""

    def __init__(self, terms: frozenset[str]):
        import rjieba  # a Rust extension: loaded where segmenting is done, not at import

        self._jieba = rjieba.Jieba()
        for term in sorted(_shipped_terms() | terms):
            self._jieba.add_word(term, _TERM_FREQUENCY, None)
        self._cuts: dict[str, tuple[str, ...]] = {}
        self._plain: Any = None  # jieba's own dictionary, for the parts of a long term

    def parts(self, word: str) -> tuple[str, ...]:
        """A word too long for its line in the parts jieba's own dictionary cuts it into
        (专业技术职务 → 专业 技术 职务): where it breaks best if it must."""
        if self._plain is None:
            import rjieba

            self._plain = rjieba.Jieba()
        return tuple(self._plain.cut(word, False))

    def words(self, run: str) -> tuple[str, ...]:
        """The words of a run of ideographs (cached: forms repeat their labels and values)."""
        found = self._cuts.get(run)
        if found is None:
            found = tuple(self._jieba.cut(run, False))
            if len(self._cuts) < 50_000:
                self._cuts[run] = found
        return found

    def cut(self, text: str) -> list[str]:
        """``text`` in pieces that may not be broken inside: its ideograph runs cut into words,
        everything between them as it is."""
        pieces: list[str] = []
        end = 0
        for match in IDEOGRAPHS.finditer(text):
            if match.start() > end:
                pieces.append(text[end : match.start()])
            pieces.extend(self.words(match.group(0)))
            end = match.end()
        if end < len(text):
            pieces.append(text[end:])
        return pieces


@lru_cache(maxsize=8)
def segmenter_for(terms: frozenset[str] = frozenset()) -> Segmenter:
    """The segmenter that knows ``terms`` (a profile's vocabulary) besides the shipped words."""
    return Segmenter(frozenset(t for t in terms if len(t) > 1 and IDEOGRAPHS.fullmatch(t)))


@lru_cache(maxsize=1)
def _shipped_terms() -> frozenset[str]:
    lines = _SHIPPED.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
