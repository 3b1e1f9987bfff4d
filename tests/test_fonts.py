"""The shipped fonts (fonts/): coverage, fontconfig isolation, rendering with fallback.

fonts/ is built by ``python fonts/build_fonts.py`` (see fonts/README.md): a subset of
Noto Serif CJK SC (Regular, Bold) covering GB 2312 and the 通用规范汉字表, and the
Hanazono faces HanaMinA / HanaMinB as fallback for rare name characters.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "fonts"
FONTS_CONF = FONTS / "fonts.conf"
TONGYONG = FONTS / "data" / "tongyong-guifan-8105.txt"

NOTO_FAMILY = "Noto Serif CJK SC"
NOTO_FACES = {"Regular": FONTS / "NotoSerifSC-Regular.otf", "Bold": FONTS / "NotoSerifSC-Bold.otf"}
HANAMIN_A = FONTS / "HanaMinA.ttf"
HANAMIN_B = FONTS / "HanaMinB.ttf"
SHIPPED = sorted([*NOTO_FACES.values(), HANAMIN_A, HANAMIN_B])

YAN = "\u4dae"  # 䶮 CJK Ext. A, 刘䶮 (founder of Southern Han); 通用规范 level 3
ZHU = "\U000201d4"  # 𠇔 CJK Ext. B, in 王𠇔; in neither GB 2312 nor the 通用规范汉字表


@cache
def tongyong() -> dict[str, int]:
    table = {}
    for line in TONGYONG.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            char, level = line.split("\t")
            table[char] = int(level)
    return table


@cache
def gb2312() -> frozenset[str]:
    chars = set()
    for hi in range(0xA1, 0xFF):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


@cache
def cmap(path: Path) -> frozenset[int]:
    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _describe(chars) -> str:
    chars = sorted(chars)
    return f"{len(chars)} missing: " + " ".join(f"U+{ord(c):04X} {c}" for c in chars[:40])


# -- the character list -------------------------------------------------------


def test_tongyong_list_is_the_2013_table():
    table = tongyong()
    assert len(table) == 8105
    levels = [table[c] for c in table]
    assert (levels.count(1), levels.count(2), levels.count(3)) == (3500, 3000, 1605)
    # In official order: the levels are consecutive blocks.
    assert levels == sorted(levels)
    for char in "的一是中国人":
        assert table[char] == 1, char
    assert table[YAN] == 3
    assert ZHU not in table
    assert len(gb2312()) == 7445
    assert sum(1 for c in gb2312() if 0x4E00 <= ord(c) <= 0x9FFF) == 6763


# -- coverage -----------------------------------------------------------------


@pytest.mark.parametrize("weight", sorted(NOTO_FACES))
def test_noto_face_is_single_sc_face(weight):
    path = NOTO_FACES[weight]
    assert path.read_bytes()[:4] == b"OTTO", f"{path.name} must be a single-face CFF OpenType, not a TTC"
    with TTFont(str(path), lazy=True) as font:
        assert font["name"].getDebugName(1) == NOTO_FAMILY
        assert font["name"].getDebugName(2) == weight
        assert {"vert", "locl"} <= {r.FeatureTag for r in font["GSUB"].table.FeatureList.FeatureRecord}


@pytest.mark.parametrize("weight", sorted(NOTO_FACES))
def test_noto_covers_gb2312(weight):
    mapped = cmap(NOTO_FACES[weight])
    missing = {c for c in gb2312() if ord(c) not in mapped}
    assert not missing, _describe(missing)


@pytest.mark.parametrize("weight", sorted(NOTO_FACES))
def test_noto_covers_tongyong_guifan(weight):
    mapped = cmap(NOTO_FACES[weight])
    missing = {c for c in tongyong() if ord(c) not in mapped}
    assert not missing, _describe(missing)


@pytest.mark.parametrize("weight", sorted(NOTO_FACES))
def test_noto_covers_document_symbols(weight):
    mapped = cmap(NOTO_FACES[weight])
    symbols = "①②③⑩№℃×÷·—…‰※〇〔〕【】《》「」『』、。，；：？！（）％＋－＝ⅠⅡⅢ■□▲△○●◎★☆→"
    missing = {c for c in symbols if ord(c) not in mapped}
    assert not missing, _describe(missing)


def test_rare_name_characters_are_covered_by_the_fallback_faces():
    a, b = cmap(HANAMIN_A), cmap(HANAMIN_B)
    assert ord(YAN) in a, "HanaMinA must cover CJK Ext. A (䶮)"
    assert ord(ZHU) in b, "HanaMinB must cover CJK Ext. B (𠇔)"
    # HanaMinA stays in the BMP, so plane-2 characters fall through to HanaMinB.
    assert max(a) <= 0xFFFF
    assert min(b) >= 0x20000
    # Ext. A and Ext. B coverage at large, not only the two samples.
    assert sum(1 for u in range(0x3400, 0x4DC0) if u in a) >= 6582
    assert sum(1 for u in range(0x20000, 0x2A6E0) if u in b) >= 42711


def test_noto_covers_yan_but_not_zhu():
    """䶮 is in the 通用规范汉字表 (level 3), so the Noto subset has it; 𠇔 is not."""
    for path in NOTO_FACES.values():
        assert ord(YAN) in cmap(path), f"{path.name}: 䶮 is a 通用规范 level-3 character"
        assert ord(ZHU) not in cmap(path), f"{path.name}: 𠇔 should come from HanaMinB"


# -- fontconfig isolation -----------------------------------------------------

FC_LIST = shutil.which("fc-list")
FC_MATCH = shutil.which("fc-match")
needs_fontconfig_tools = pytest.mark.skipif(
    not (FC_LIST and FC_MATCH), reason="fc-list/fc-match not installed (Debian package fontconfig)"
)


@pytest.fixture(scope="module")
def fc_env(tmp_path_factory) -> dict[str, str]:
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    env.pop("FONTCONFIG_PATH", None)
    env.pop("FONTCONFIG_SYSROOT", None)
    # A private cache: the test must not depend on (or write to) the user's.
    env["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("fontconfig-cache"))
    return env


def _fc(env, *args) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_fontconfig_tools
def test_fc_list_lists_exactly_the_shipped_fonts(fc_env):
    out = _fc(fc_env, FC_LIST, "--format", "%{file}\n")
    files = sorted(Path(line) for line in out.splitlines() if line.strip())
    assert files == SHIPPED
    assert not [f for f in files if str(f).startswith("/usr/share/fonts")]


@needs_fontconfig_tools
@pytest.mark.parametrize("generic", ["serif", "sans-serif", "monospace", "cursive", "SimSun", "宋体"])
def test_fc_match_generic_families_give_noto(fc_env, generic):
    out = _fc(fc_env, FC_MATCH, "--format", "%{family[0]}|%{style[0]}|%{file}", generic)
    family, style, file = out.split("|")
    assert family == NOTO_FAMILY
    assert style == "Regular"
    assert Path(file) == NOTO_FACES["Regular"]


@needs_fontconfig_tools
def test_fc_match_bold_gives_noto_bold(fc_env):
    out = _fc(fc_env, FC_MATCH, "--format", "%{file}", "serif:weight=bold")
    assert Path(out) == NOTO_FACES["Bold"]


@needs_fontconfig_tools
def test_fc_sort_fallback_order(fc_env):
    out = _fc(fc_env, FC_MATCH, "--sort", "--format", "%{family[0]}\n", "serif")
    order = list(dict.fromkeys(line for line in out.splitlines() if line))
    assert order == [NOTO_FAMILY, "HanaMinA", "HanaMinB"]


@needs_fontconfig_tools
@pytest.mark.parametrize(
    "pattern, family",
    [
        ("serif:charset=201d4", "HanaMinB"),  # 𠇔
        ("serif:charset=4dae", NOTO_FAMILY),  # 䶮, in the 通用规范 subset
        ("serif:charset=3400", "HanaMinA"),  # 㐀, Ext. A outside the subset
    ],
)
def test_fc_match_by_coverage(fc_env, pattern, family):
    assert _fc(fc_env, FC_MATCH, "--format", "%{family[0]}", pattern) == family


# -- rendering ------------------------------------------------------------------

RENDER = textwrap.dedent("""
    import sys
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    html = '<html lang="zh-CN"><p style="font-family: serif">刘\u4dae 王\U000201d4 张三</p></html>'
    HTML(string=html).write_pdf(sys.argv[1], font_config=FontConfiguration())
""")


def _pdf_fonts(pdf_path: Path) -> tuple[str, list[tuple[str, str]], dict[str, bool]]:
    """Text, (character, font base name) per character, {font base name: embedded}."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(str(pdf_path))
    try:
        page = document[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        per_char: list[tuple[str, str]] = []
        buffer = ctypes.create_string_buffer(512)
        flags = ctypes.c_int()
        units = [raw.FPDFText_GetUnicode(textpage, i) for i in range(textpage.count_chars())]
        i = 0
        while i < len(units):
            unit = units[i]
            raw.FPDFText_GetFontInfo(textpage, i, buffer, len(buffer), ctypes.byref(flags))
            font = buffer.value.decode("utf-8", "replace")
            if 0xD800 <= unit < 0xDC00 and i + 1 < len(units):  # UTF-16 surrogate pair
                unit = 0x10000 + ((unit - 0xD800) << 10) + (units[i + 1] - 0xDC00)
                i += 1
            per_char.append((chr(unit), font))
            i += 1

        embedded: dict[str, bool] = {}
        for obj in page.get_objects():
            if obj.type != raw.FPDF_PAGEOBJ_TEXT:
                continue
            font = raw.FPDFTextObj_GetFont(obj.raw)
            length = raw.FPDFFont_GetBaseFontName(font, None, 0)
            name_buffer = ctypes.create_string_buffer(length)
            raw.FPDFFont_GetBaseFontName(font, name_buffer, length)
            embedded[name_buffer.value.decode("utf-8", "replace")] = bool(raw.FPDFFont_GetIsEmbedded(font))
        textpage.close()
        page.close()
        return text, per_char, embedded
    finally:
        document.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, fc_env):
    out = tmp_path_factory.mktemp("render") / "names.pdf"
    # A fresh process: fontconfig reads FONTCONFIG_FILE when it is initialised.
    result = subprocess.run(
        [sys.executable, "-c", RENDER, str(out)], env=fc_env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return _pdf_fonts(out)


def test_rendered_text_layer_keeps_rare_characters(rendered):
    text, _, _ = rendered
    assert "刘" + YAN in text
    assert "王" + ZHU in text
    assert "张三" in text


def test_rendered_fonts_are_ours_and_embedded(rendered):
    _, per_char, embedded = rendered
    assert embedded, "no text objects in the PDF"
    assert all(embedded.values()), f"fonts not embedded: {embedded}"
    names = " ".join(embedded)
    assert "Noto-Serif-CJK-SC" in names or "NotoSerifCJKsc" in names, names
    assert "HanaMin" in names, names
    # Nothing else: every font in the PDF is one of the shipped faces.
    for name in embedded:
        assert any(k in name for k in ("Noto-Serif-CJK-SC", "NotoSerifCJKsc", "HanaMin")), name

    fonts = {char: font for char, font in per_char if not char.isspace()}
    for char in "刘王张三":
        assert "Noto" in fonts[char], (char, fonts[char])
    # 䶮 is in the Noto subset (通用规范 level 3); 𠇔 falls back to HanaMinB.
    assert "Noto" in fonts[YAN], fonts[YAN]
    assert "HanaMinB" in fonts[ZHU], fonts[ZHU]
