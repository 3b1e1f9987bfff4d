"""Breaking between words (issue 22): the segmenter, the fitting of boxed values, and the
joiners the typesetting pass puts inside words, checked on the page."""

from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as raw
import weasyprint

from service import FONTS_DIR
from service.documents.fit import fit_text, wrap_text
from service.documents.tabular import advances_for
from service.documents.typeset import JOINER, plain, typeset_html
from service.documents.words import segmenter_for

ADVANCES = advances_for(FONTS_DIR / "NotoSerifSC-Regular.otf")


def test_the_segmenter_cuts_words_and_keeps_a_profiles_terms_whole():
    shipped = segmenter_for()
    assert shipped.cut("化学工程与工艺") == ["化学工程", "与", "工艺"]
    assert shipped.cut("专业技术职务") == ["专业技术职务"]
    assert shipped.cut("高级教师（中级）") == ["高级教师", "（", "中级", "）"]
    assert shipped.cut("湖北省职称改革工作领导小组办公室") == ["湖北省", "职称改革", "工作", "领导小组", "办公室"]
    assert "职改办主任" not in shipped.cut("职改办主任签字")
    assert segmenter_for(frozenset({"职改办主任"})).cut("职改办主任签字")[0] == "职改办主任"
    assert segmenter_for() is shipped  # built once per set of terms


def test_a_value_wraps_between_words_never_inside_one():
    # A box that holds five characters: 化学工程与 | 工艺, never 化学工 | 程与工艺.
    width = 5.2 * 10 * 0.3528
    assert wrap_text("化学工程与工艺", width, 10, advances=ADVANCES) == ["化学工程与", "工艺"]
    # A term wider than the line breaks between its own parts: 专业技术 | 职务, not 专业技术职 | 务.
    assert wrap_text("专业技术职务评审", width, 10, advances=ADVANCES) == ["专业技术", "职务评审"]


def test_a_short_value_shrinks_a_step_rather_than_break():
    width = ADVANCES.width_em("化学工程与工艺") * 11 * 0.3528 + 0.3  # fits at 11 pt, not at 12
    size = fit_text("化学工程与工艺", width, max_lines=2, max_pt=12, min_pt=8, advances=ADVANCES)
    assert 10.5 <= size < 12
    assert len(wrap_text("化学工程与工艺", width, size, advances=ADVANCES)) == 1
    # A long text is not shrunk to avoid a break: it wraps at its size.
    long = "湖北省工程系列化工专业正高级专业技术职务任职资格评审委员会"
    assert fit_text(long, 75, max_lines=2, max_pt=12, min_pt=8, advances=ADVANCES) == 12


def test_joiners_go_inside_words_only_and_leave_the_text_as_it_was():
    html = typeset_html("<td>现从事化学工程与工艺设计工作</td>")
    assert JOINER.join("化学工程") in html and "程" + JOINER + "与" not in html
    assert plain(html) == "<td>现从事化学工程与工艺设计工作</td>"


def _char_lefts(pdf: bytes) -> list[float]:
    document = pdfium.PdfDocument(pdf)
    try:
        textpage = document[0].get_textpage()
        lefts = []
        rect = raw.FS_RECTF()
        for index in range(textpage.count_chars()):
            if raw.FPDFText_GetUnicode(textpage, index) > 0x3000:
                raw.FPDFText_GetLooseCharBox(textpage, index, ctypes.byref(rect))
                lefts.append(rect.left)
        return lefts
    finally:
        document.close()


def test_a_letter_spaced_title_has_no_gap_before_its_last_character():
    """「评审 表」: a WORD JOINER got letter-spacing of its own; the joiner used now does not."""
    body = typeset_html('<h1 style="letter-spacing: 0.5em; font-size: 20pt">专业技术资格评审表</h1>')
    assert JOINER in body
    pdf = weasyprint.HTML(string=f'<html lang="zh-CN"><body>{body}</body></html>').write_pdf()
    lefts = _char_lefts(pdf)
    steps = [round(b - a, 1) for a, b in zip(lefts, lefts[1:])]
    assert len(lefts) == 9 and max(steps) - min(steps) < 0.5, steps
