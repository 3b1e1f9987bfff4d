"""Line-breaking rules the layout engine does not know, applied to a form's HTML before layout.

Pango breaks Chinese text between any two ideographs (UAX #14) and, in a cell
too narrow for a word, anywhere at all. A typesetter would not break
「工程师（中 / 级）」 or leave 「局」 alone on the last line of 「…社会保障 / 局」,
and a run of characters with no break opportunity (20,000 × W) makes WeasyPrint
lay out its whole remaining text again for every line (quadratic time). So, in
the text of the page (never in tags or attributes):

- a short bracketed group is joined by ZERO WIDTH JOINERs (U+200D): 「（中级）」, 「（万元）」;
- a text of up to ``WORDS_MAX`` characters (a name, a title, a unit, a term) is joined
  inside each of its words (``service.documents.words``): Pango breaks it between words,
  never 「高级教|师」 or 「评审委|员会」; a cell too narrow even for one word still breaks
  it (overflow-wrap), and the forms size their cells (and shrink their type) so that
  none is; longer text is free text, broken anywhere as Chinese is;
- the last two ideographs of a text are joined, so no line of a field is one lone
  character (避头尾 keeps the punctuation after them attached already);
- a long run without a break opportunity gets a ZERO WIDTH SPACE (U+200B) every few
  characters, inside a span without ligatures (a ligature across the break would lose
  its letters in the text layer): it breaks, and layout stays linear in its length.

Both characters are default-ignorable: Pango gives them no glyph, so the PDF's
text layer holds exactly the input. Numbers and codes need nothing: UAX #14 never
breaks inside a run of digits and letters, and the forms give them the room (and
a smaller type) they need (``service.documents.columns``).
"""

from __future__ import annotations

import re

from service.documents.words import IDEOGRAPHS, Segmenter, segmenter_for

# ZERO WIDTH JOINER, not WORD JOINER (U+2060): both forbid a break (UAX #14 LB8a, LB11),
# but Pango gives a WORD JOINER a cluster of its own and so letter-spacing after it: a
# title set with letter-spacing printed 「评审 表」 with a gap before its last character.
# HarfBuzz merges a ZWJ into the cluster before it: no glyph, no spacing, no text.
JOINER = "\u200d"
ZERO_WIDTH_SPACE = "\u200b"

# Ideographs: CJK Unified Ideographs with Extension A, compatibility ideographs, and
# the supplementary planes' extensions.
_IDEOGRAPH = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A run of this many characters that are neither ideographs nor spaces (Latin words,
# digits, punctuation, entities) has no break opportunity a form can rely on.
LONG_RUN = 24
CHUNK = 6  # ... and breaks every CHUNK characters
BRACKETED_MAX = 8  # characters inside the brackets of a group kept whole
WORDS_MAX = 60  # a text of at most this many characters breaks between its words only

# A text and the tag before it. The one-line rows of long lists (tabular.py: white-space:
# pre, measured to fit their columns) never wrap, and are left as they are.
_TEXT = re.compile(r"(<[^>]*>)([^<]+)(?=<)")
_NO_WRAP = '<td class="line"'
_STYLE = "<style"  # a stylesheet in the page (_macros.html, list_table) is not text

_CHARACTER = re.compile(r"&#?\w+;|.", re.DOTALL)  # one character of the text; an entity is one
_BREAKS = re.compile(r"[\s" + _IDEOGRAPH + "]")  # characters with a break opportunity around them
# A cheap test first: a long run is at least LONG_RUN characters of the source in a row.
_MAYBE_LONG = re.compile(r"[^\s" + _IDEOGRAPH + "]{" + str(LONG_RUN) + ",}")
_BRACKETED = re.compile(
    r"[（〔【《「(\[]([^（）〔〕【】《》「」()\[\]\s<&]{1," + str(BRACKETED_MAX) + r"})[）〕】》」)\]]"
)
# Between a number and the ideograph after it (its unit: 年, 篇, 学时).
_NUMBER_AND_UNIT = re.compile(r"(?<=\d)(?=[" + _IDEOGRAPH + "])")
# The last two ideographs of a text, and whatever punctuation follows them.
_LAST_TWO = re.compile("([" + _IDEOGRAPH + "])([" + _IDEOGRAPH + r"][^\s" + _IDEOGRAPH + r"]*\s*)$")


def typeset_html(html: str, segmenter: Segmenter | None = None) -> str:
    """``html`` with the line-breaking rules above applied to its text; ``segmenter`` knows
    the province's words (none: the shipped words only)."""
    words = segmenter or segmenter_for()
    return _TEXT.sub(lambda match: _typeset_text(match, words), html)


def _typeset_text(match: re.Match, words: Segmenter) -> str:
    tag, text = match.groups()
    if text.isspace() or tag.startswith((_NO_WRAP, _STYLE)):
        return match.group(0)
    if _MAYBE_LONG.search(text):
        text = _break_long_runs(text)
        text = _BRACKETED.sub(_join, text)
    else:
        text = _BRACKETED.sub(_join, text)
        text = _join_words(text, words)
    text = _LAST_TWO.sub(lambda m: m.group(1) + JOINER + m.group(2), text)
    return tag + text


def _join_words(text: str, words: Segmenter) -> str:
    """``text`` with each of its words whole: joiners between the characters of a word
    (an entity counts as one character)."""
    count = len(_CHARACTER.findall(text.strip()))
    if count <= 1 or count > WORDS_MAX:
        return text
    text = IDEOGRAPHS.sub(lambda run: _joined_words(words.words(run.group(0))), text)
    return _NUMBER_AND_UNIT.sub(JOINER, text)  # 5年, 3篇, 40学时: a number with its unit


def _joined_words(run_words: tuple[str, ...]) -> str:
    return "".join(JOINER.join(word) for word in run_words)


def _break_long_runs(text: str) -> str:
    """``text`` with every run of ``LONG_RUN`` characters or more that has no break
    opportunity (an entity counts as one character, and is never cut) broken every
    ``CHUNK`` characters, in a span without ligatures."""
    out: list[str] = []
    run: list[str] = []
    for unit in _CHARACTER.findall(text) + [" "]:
        if len(unit) == 1 and _BREAKS.match(unit):
            out.append(_broken(run) if len(run) >= LONG_RUN else "".join(run))
            out.append(unit)
            run = []
        else:
            run.append(unit)
    return "".join(out)[:-1]


def _broken(units: list[str]) -> str:
    chunks = ("".join(units[i : i + CHUNK]) for i in range(0, len(units), CHUNK))
    return '<span class="run">' + ZERO_WIDTH_SPACE.join(chunks) + "</span>"


def _join(match: re.Match) -> str:
    return JOINER.join(match.group(0))


def plain(text: str) -> str:
    """``text`` without the characters ``typeset_html`` inserts (for measuring and tests)."""
    return text.replace(JOINER, "").replace(ZERO_WIDTH_SPACE, "")
