#!/usr/bin/env python3
"""Rebuild the fonts shipped in ``fonts/`` from the upstream Debian packages.

Sources (Debian packages, installed with ``apt-get install fonts-noto-cjk fonts-hanazono``):

* ``fonts-noto-cjk``: ``NotoSerifCJK-Regular.ttc`` / ``NotoSerifCJK-Bold.ttc``; the face
  whose family is "Noto Serif CJK SC" is extracted and subset to the character
  repertoire of Chinese official documents (see ``noto_unicodes``).
* ``fonts-hanazono``: ``HanaMinA.ttf`` (BMP, incl. CJK Ext. A) and ``HanaMinB.ttf``
  (plane 2: CJK Ext. B-F), the fallback for rare name characters (刘䶮, 王𠇔 ...).

Outputs (single-face files, never .ttc) and the licence texts in ``fonts/LICENSES/``.

The build is reproducible: the same Debian package versions give byte-identical
files (head.created/head.modified are kept from the source font, tables are
written in a fixed order, nothing depends on time, locale or hash order).

Usage::

    python fonts/build_fonts.py            # rebuild into fonts/
    python fonts/build_fonts.py --check    # rebuild into a temp dir, compare with fonts/
    python fonts/build_fonts.py --out DIR  # rebuild into DIR

Needs fontTools (a project dependency). Debian's ``dpkg-query`` is used only to
report the package versions.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

HERE = Path(__file__).resolve().parent
DATA_TONGYONG = HERE / "data" / "tongyong-guifan-8105.txt"

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
HANAZONO_DIR = Path("/usr/share/fonts/truetype/hanazono")
NOTO_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
HANAZONO_COPYRIGHT = Path("/usr/share/doc/fonts-hanazono/copyright")

# The versions the shipped files were built from. Another version still builds,
# but the output then differs from the committed files (``--check`` fails).
EXPECTED_VERSIONS = {
    "fonts-noto-cjk": "1:20220127+repack1-1",
    "fonts-hanazono": "20170904-2.1",
}

NOTO_FAMILY = "Noto Serif CJK SC"
# The OpenType language system kept in GSUB/GPOS of the Noto face. The SC face
# carries ``locl`` lookups for JAN/KOR/ZHT/ZHH too; keeping them would pull the
# Japanese/Korean/Traditional glyph variants of every kept character into the
# subset (9.8k -> 16.3k glyphs, +75 % size) for documents we never set.
NOTO_KEEP_LANGSYS = {"ZHS "}


# --------------------------------------------------------------------------
# Character repertoires
# --------------------------------------------------------------------------

def read_tongyong(path: Path = DATA_TONGYONG) -> dict[str, int]:
    """The 通用规范汉字表: {character: level}."""
    table: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        char, level = line.split("\t")
        table[char] = int(level)
    return table


def gb2312_chars() -> set[str]:
    """Every character of GB 2312: decode every valid two-byte code (rows 1-94)."""
    chars = set()
    for hi in range(0xA1, 0xFF):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def _ranges(*pairs: tuple[int, int]) -> set[int]:
    out: set[int] = set()
    for first, last in pairs:
        out.update(range(first, last + 1))
    return out


# Non-Han repertoire of the Noto subset. Code points the font lacks are ignored.
NOTO_EXTRA_RANGES = _ranges(
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement (×, ÷, ·, §, °, ±, ¥ ...)
    (0x0100, 0x017F),  # Latin Extended-A (pinyin ā ē ī ō ū, foreign names)
    (0x01CD, 0x01DC),  # pinyin ǎ ě ǐ ǒ ǔ ǖ ǘ ǚ ǜ
    (0x0251, 0x0251),  # ɑ (pinyin)
    (0x0261, 0x0261),  # ɡ (pinyin)
    (0x02C6, 0x02DD),  # ˆ ˇ ˉ ˊ ˋ ˙ (pinyin tone marks, in GB 2312)
    (0x2000, 0x206F),  # General Punctuation (— – … ‰ ※ ‘ ’ “ ” • ′ ″)
    (0x2070, 0x209F),  # superscripts/subscripts
    (0x20A0, 0x20CF),  # currency symbols (€)
    (0x2100, 0x214F),  # Letterlike Symbols (℃ № ℉ ™ ℡)
    (0x2150, 0x218F),  # Number Forms (Ⅰ Ⅱ ⅰ ⅱ ...)
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators (∵ ∴ ≈ ≤ ≥ √ ∑)
    (0x2460, 0x24FF),  # Enclosed Alphanumerics (① ⑴ ⒈ Ⓐ)
    (0x2500, 0x257F),  # Box Drawing
    (0x2580, 0x259F),  # Block Elements
    (0x25A0, 0x25FF),  # Geometric Shapes (■ □ ▲ △ ○ ● ◎ ◇ ◆)
    (0x2600, 0x26FF),  # Miscellaneous Symbols (★ ☆ ☎ ☑ ☐ ♀ ♂)
    (0x2700, 0x27BF),  # Dingbats (✓ ✔ ✕ ✗)
    (0x2E80, 0x2EFF),  # CJK Radicals Supplement
    (0x2F00, 0x2FDF),  # Kangxi Radicals (text copied out of PDFs often carries
                       # these instead of the unified ideographs: ⾦ for 金)
    (0x2FF0, 0x2FFF),  # Ideographic Description Characters
    (0x3000, 0x303F),  # CJK Symbols and Punctuation (、 。 〇 〔 〕 【 】 《 》 「 」)
    (0x3100, 0x312F),  # Bopomofo (注音, in GB 2312 row 8)
    (0x31C0, 0x31EF),  # CJK Strokes
    (0x3200, 0x32FF),  # Enclosed CJK Letters and Months (㈠ ㈡ ㊀ ㊣)
    (0x3300, 0x33FF),  # CJK Compatibility (㎡ ㎏ ㎝ ㎞)
    (0xFE10, 0xFE1F),  # Vertical Forms
    (0xFE30, 0xFE4F),  # CJK Compatibility Forms (vertical brackets ︵ ︶)
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
)

# CJK Compatibility Ideographs kept in the Noto subset: the Big5 duplicates 兀 嗀
# and the twelve "compatibility" code points that are really unified ideographs
# (no canonical decomposition, so NFC does not fold them away). The rest of
# U+F900-FAFF decomposes to unified ideographs and is left to HanaMinA.
NOTO_COMPAT_IDEOGRAPHS = {
    0xFA0C, 0xFA0D,
    0xFA0E, 0xFA0F, 0xFA11, 0xFA13, 0xFA14, 0xFA1F,
    0xFA21, 0xFA23, 0xFA24, 0xFA27, 0xFA28, 0xFA29,
}

# HanaMinA: the BMP ideographs and ideograph-like characters.
HANAMIN_A_RANGES = _ranges(
    (0x2E80, 0x2EFF),  # CJK Radicals Supplement
    (0x2F00, 0x2FDF),  # Kangxi Radicals
    (0x2FF0, 0x2FFF),  # Ideographic Description Characters
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals 〡-〩
    (0x3038, 0x303B),  # 〸 〹 〺 〻
    (0x31C0, 0x31EF),  # CJK Strokes
    (0x3400, 0x4DBF),  # CJK Ext. A (䶮 ...)
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs (URO)
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
)

# HanaMinB: the plane-2 ideographs (Ext. B-F and the compatibility supplement).
HANAMIN_B_RANGES = _ranges(
    (0x20000, 0x2A6DF),  # CJK Ext. B (𠇔 ...)
    (0x2A700, 0x2B73F),  # CJK Ext. C
    (0x2B740, 0x2B81F),  # CJK Ext. D
    (0x2B820, 0x2CEAF),  # CJK Ext. E
    (0x2CEB0, 0x2EBEF),  # CJK Ext. F
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
)


def noto_required() -> set[int]:
    """Code points the Noto subset must map (the build fails otherwise)."""
    han = set(read_tongyong()) | gb2312_chars()
    return {ord(c) for c in han}


def noto_unicodes() -> set[int]:
    return noto_required() | NOTO_EXTRA_RANGES | NOTO_COMPAT_IDEOGRAPHS


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------

def _subset_options() -> subset.Options:
    options = subset.Options()
    # Layout: fontTools' default feature list, which keeps what CJK text needs:
    # locl, vert/vrt2 (vertical punctuation), halt/palt/vhal/vpal/chws/vchw
    # (half-width punctuation), kern/vkrn, ccmp, liga, calt, mark/mkmk.
    # Alternates-only features (aalt, ruby, hwid, fwid, pwid, dlig, hist) are dropped.
    options.layout_features = list(options.layout_features)
    # Keep the whole name table (all IDs and languages): the family stays
    # "Noto Serif CJK SC" / "HanaMinA" / "HanaMinB", and the copyright, licence
    # and URL records (IDs 0, 13, 14) travel with the font.
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    # Hinting is useless here: WeasyPrint strips it when it embeds a font
    # (write_pdf(hinting=False) is its default) and PDF output is unhinted.
    options.hinting = False
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.ignore_missing_unicodes = True
    # Hanazono carries FontForge's private timestamp table (FFTM) and an AAT
    # glyph-properties table (prop) that fontTools cannot remap to new glyph IDs.
    options.drop_tables = sorted(set(options.drop_tables) | {"FFTM", "prop"})
    return options


def _open(path: Path, font_number: int = -1) -> TTFont:
    # recalcTimestamp=False: keep head.modified from the source font, so that
    # two builds are byte-identical.
    return TTFont(str(path), fontNumber=font_number, recalcTimestamp=False, lazy=False)


def find_face(ttc: Path, family: str) -> int:
    """Index of the face of ``ttc`` whose name ID 1 is ``family``."""
    collection = TTCollection(str(ttc), lazy=True)
    matches = [i for i, font in enumerate(collection.fonts)
               if font["name"].getDebugName(1) == family]
    if len(matches) != 1:
        raise SystemExit(f"{ttc}: expected one face of family {family!r}, found {matches}")
    return matches[0]


def _keep_langsys(font: TTFont, keep: set[str]) -> None:
    for tag in ("GSUB", "GPOS"):
        if tag not in font:
            continue
        table = font[tag].table
        for record in table.ScriptList.ScriptRecord:
            script = record.Script
            script.LangSysRecord = [ls for ls in script.LangSysRecord if ls.LangSysTag in keep]
            script.LangSysCount = len(script.LangSysRecord)


def _subset(font: TTFont, unicodes: set[int]) -> None:
    subsetter = subset.Subsetter(_subset_options())
    subsetter.populate(unicodes=sorted(unicodes))
    subsetter.subset(font)


def _save(font: TTFont, dest: Path) -> None:
    font.save(str(dest), reorderTables=True)


def build_noto(weight: str, dest: Path) -> None:
    ttc = NOTO_DIR / f"NotoSerifCJK-{weight}.ttc"
    font = _open(ttc, find_face(ttc, NOTO_FAMILY))
    created, modified = font["head"].created, font["head"].modified
    _keep_langsys(font, NOTO_KEEP_LANGSYS)
    _subset(font, noto_unicodes())
    font["head"].created, font["head"].modified = created, modified
    missing = sorted(noto_required() - set(font.getBestCmap()))
    if missing:
        raise SystemExit(f"{ttc} ({NOTO_FAMILY}) lacks required characters: "
                         + " ".join(f"U+{u:04X} {chr(u)}" for u in missing))
    _save(font, dest)


def build_hanamin(name: str, ranges: set[int], dest: Path) -> None:
    font = _open(HANAZONO_DIR / f"{name}.ttf")
    created, modified = font["head"].created, font["head"].modified
    _subset(font, ranges)
    font["head"].created, font["head"].modified = created, modified
    _save(font, dest)


def build_truetype(source: Path, dest: Path) -> None:
    """The OFD twin's copy of a Noto face: the same glyphs with TrueType (quadratic) outlines.

    OFD allows OpenType fonts, but the readers built on ReportLab (easyofd) take TrueType
    outlines only and print no text with CFF ones. Converted from the shipped face (cu2qu,
    at most 1 font unit off the cubic curves), names, metrics and cmap kept; written to
    fonts/ofd/, which fonts.conf keeps out of the documents' font set."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    font = TTFont(str(source))
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font.sfntVersion = "\x00\x01\x00\x00"
    _save(font, dest)


# --------------------------------------------------------------------------
# Licences
# --------------------------------------------------------------------------

def _debian_license(copyright_file: Path, name: str) -> str:
    """The text of the stand-alone ``License: name`` paragraph of a DEP-5 file."""
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    # The stand-alone paragraph starts after a blank line; a "License:" field
    # inside a "Files:" paragraph only names the licence.
    start = next(i for i, line in enumerate(lines)
                 if line == f"License: {name}" and (i == 0 or not lines[i - 1].strip())) + 1
    body: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        body.append(line)
    indent = min(len(l) - len(l.lstrip()) for l in body if l.strip() != ".")
    return "\n".join("" if l.strip() == "." else l[indent:].rstrip() for l in body) + "\n"


def write_licenses(out: Path) -> None:
    lic = out / "LICENSES"
    lic.mkdir(parents=True, exist_ok=True)
    # The Debian copyright files, verbatim (provenance).
    shutil.copyfile(NOTO_COPYRIGHT, lic / "fonts-noto-cjk.debian-copyright")
    shutil.copyfile(HANAZONO_COPYRIGHT, lic / "fonts-hanazono.debian-copyright")

    # Noto CJK: the copyright notices carried by the font itself + the OFL 1.1 text.
    ttc = NOTO_DIR / "NotoSerifCJK-Regular.ttc"
    name = TTCollection(str(ttc), lazy=True).fonts[find_face(ttc, NOTO_FAMILY)]["name"]
    notices = [name.getDebugName(i) for i in (0, 7) if name.getDebugName(i)]
    header = (
        "Noto Serif CJK SC (NotoSerifSC-Regular.otf, NotoSerifSC-Bold.otf)\n"
        "Subset of Noto Serif CJK (Debian package fonts-noto-cjk,\n"
        "upstream https://github.com/googlefonts/noto-cjk).\n\n"
        + "\n".join(notices) + "\n"
        "Debian copyright file: Copyright 2010-2012, Google Corporation.\n\n"
    )
    (lic / "OFL-1.1-NotoSerifCJK.txt").write_text(
        header + _debian_license(NOTO_COPYRIGHT, "SIL-1.1"), encoding="utf-8")

    # Hanazono: dual licence, the Hanazono Font License or the OFL 1.1.
    header = (
        "HanaMinA / HanaMinB (HanaMinA.ttf, HanaMinB.ttf)\n"
        "Subsets of the Hanazono fonts (Debian package fonts-hanazono,\n"
        "upstream http://fonts.jp/hanazono/), GlyphWiki Project.\n"
        "The upstream fonts are dual-licensed: the Hanazono Font License OR the\n"
        "SIL Open Font License 1.1. The subsets shipped here are distributed under\n"
        "the Hanazono Font License (which allows modified copies to keep the names\n"
        "HanaMinA/HanaMinB; the OFL reserves those names).\n\n"
    )
    (lic / "Hanazono-Font-License.txt").write_text(
        header + _debian_license(HANAZONO_COPYRIGHT, "Hanazono-Font-License"),
        encoding="utf-8")
    (lic / "OFL-1.1-Hanazono.txt").write_text(
        _debian_license(HANAZONO_COPYRIGHT, "Open-Font-License"), encoding="utf-8")


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

FONT_FILES = ("NotoSerifSC-Regular.otf", "NotoSerifSC-Bold.otf", "HanaMinA.ttf", "HanaMinB.ttf",
              "ofd/NotoSerifSC-Regular.ttf", "ofd/NotoSerifSC-Bold.ttf")
LICENSE_FILES = (
    "LICENSES/fonts-noto-cjk.debian-copyright",
    "LICENSES/fonts-hanazono.debian-copyright",
    "LICENSES/OFL-1.1-NotoSerifCJK.txt",
    "LICENSES/Hanazono-Font-License.txt",
    "LICENSES/OFL-1.1-Hanazono.txt",
)


def debian_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in EXPECTED_VERSIONS:
        try:
            result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                                    capture_output=True, text=True, check=True)
            versions[package] = result.stdout.strip() or None
        except (OSError, subprocess.CalledProcessError):
            versions[package] = None
    return versions


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    steps = [
        ("NotoSerifSC-Regular.otf", lambda p: build_noto("Regular", p)),
        ("NotoSerifSC-Bold.otf", lambda p: build_noto("Bold", p)),
        ("HanaMinA.ttf", lambda p: build_hanamin("HanaMinA", HANAMIN_A_RANGES, p)),
        ("HanaMinB.ttf", lambda p: build_hanamin("HanaMinB", HANAMIN_B_RANGES, p)),
        ("ofd/NotoSerifSC-Regular.ttf", lambda p: build_truetype(out / "NotoSerifSC-Regular.otf", p)),
        ("ofd/NotoSerifSC-Bold.ttf", lambda p: build_truetype(out / "NotoSerifSC-Bold.otf", p)),
    ]
    for filename, step in steps:
        # Write next to the target, then rename: a failed build never leaves a
        # truncated font behind for fontconfig to pick up.
        tmp = (out / filename).with_name(f".{Path(filename).name}.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        step(tmp)
        tmp.replace(out / filename)
        print(f"  {filename:26s} {(out / filename).stat().st_size:>11,d} bytes", flush=True)
    write_licenses(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", type=Path, help="output directory (default: fonts/)")
    group.add_argument("--check", action="store_true",
                       help="rebuild into a temporary directory and compare with fonts/")
    args = parser.parse_args(argv)

    for source in (NOTO_DIR / "NotoSerifCJK-Regular.ttc", NOTO_DIR / "NotoSerifCJK-Bold.ttc",
                   HANAZONO_DIR / "HanaMinA.ttf", HANAZONO_DIR / "HanaMinB.ttf",
                   NOTO_COPYRIGHT, HANAZONO_COPYRIGHT):
        if not source.exists():
            print(f"missing {source}: apt-get install fonts-noto-cjk fonts-hanazono",
                  file=sys.stderr)
            return 2

    versions = debian_versions()
    for package, expected in EXPECTED_VERSIONS.items():
        found = versions[package]
        note = "" if found == expected else f"  (shipped files were built from {expected})"
        print(f"{package} {found or 'unknown'}{note}")

    if not args.check:
        out = (args.out or HERE).resolve()
        print(f"building into {out}")
        build(out)
        for filename in FONT_FILES:
            digest = hashlib.sha256((out / filename).read_bytes()).hexdigest()
            print(f"  sha256 {digest}  {filename}")
        return 0

    # Build outside the repository: fontconfig scans fonts/ recursively, a
    # scratch copy there would show up as duplicate faces.
    with tempfile.TemporaryDirectory(prefix="zhicheng-fonts-") as tmp:
        out = Path(tmp)
        print(f"building into {out} to compare with {HERE}")
        build(out)
        differing = [f for f in FONT_FILES + LICENSE_FILES
                     if not (HERE / f).exists()
                     or not filecmp.cmp(out / f, HERE / f, shallow=False)]
    if differing:
        print("differs from the shipped files: " + ", ".join(differing), file=sys.stderr)
        return 1
    print("shipped fonts are byte-identical to a fresh build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
