"""The shipped faces cut to the characters a page prints, for documents written here
rather than by WeasyPrint (the certificate's PDF and its OFD twin).

Both take the Noto faces with TrueType outlines (``fonts/ofd``: the OFD readers built on
ReportLab print no text in a CFF face, and a TrueType face in a PDF needs no CFF
charset) and, for a name's rare characters, the HanaMin faces the forms fall back to.
A subset is kept by its face and characters: the PDF and its OFD twin ask for the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb

# The Noto faces with TrueType outlines (fonts/build_fonts.py), beside the OpenType ones.
TRUETYPE_FACES = "ofd"
REGULAR_FACE, BOLD_FACE = "NotoSerifSC-Regular.ttf", "NotoSerifSC-Bold.ttf"
# The faces a name's rare characters come from (CJK Extension A/B and beyond, which Noto
# Serif SC lacks), in the order the forms' stylesheets name them.
RARE_FACES = ("HanaMinA.ttf", "HanaMinB.ttf")


@dataclass(frozen=True)
class Fallback:
    """A face for the characters the Noto faces lack (a name's rare characters, from
    HanaMinA/B as in the forms): its subset and the characters it sets."""

    name: str
    data: bytes
    chars: frozenset[str]


def main_face(fonts_dir: Path, bold: bool = False) -> Path:
    return fonts_dir / TRUETYPE_FACES / (BOLD_FACE if bold else REGULAR_FACE)


def rare_faces(fonts_dir: Path, chars: str) -> tuple[Fallback, ...]:
    """The subsets of the rare faces that set the characters the Noto face lacks (none
    for most certificates); a character no face has is left to the main face (a blank)."""
    missing = [char for char in chars if ord(char) not in _cmap(main_face(fonts_dir))]
    faces = []
    for name in RARE_FACES:
        path = fonts_dir / name
        covered = "".join(char for char in missing if ord(char) in _cmap(path))
        if covered:
            faces.append(Fallback(path.stem, subset_font(path, covered), frozenset(covered)))
            missing = [char for char in missing if char not in covered]
    return tuple(faces)


@lru_cache(maxsize=8)
def _cmap(path: Path) -> frozenset[int]:
    return frozenset(_face(path).unicodes)


def subset_font(path: Path, chars: str) -> bytes:
    """The face cut to ``chars`` (and .notdef): a few kB instead of 3 MB.

    HarfBuzz's hb-subset, not fontTools: about 1.5 ms for a certificate's hundred
    characters where fontTools took about 2 s walking the CJK face's CFF
    (bench/results/ofd.md). No layout features (the page places each character by its
    advance, it does not shape) and no hinting; every name kept (OFD viewers match the
    face by its names)."""
    return _subset(path, chars)


@lru_cache(maxsize=256)
def _subset(path: Path, chars: str) -> bytes:
    request = hb.SubsetInput()
    request.unicode_set.update(ord(char) for char in chars)
    request.layout_feature_tag_set.clear()
    request.name_id_set.clear()
    request.name_id_set.invert()  # all names: the empty set inverted (the default set is 0–6)
    request.flags = hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.NOTDEF_OUTLINE
    subset = hb.subset(_face(path), request)
    if subset is None:
        raise ValueError(f"HarfBuzz could not subset {path.name}")
    return bytes(subset.blob.data)


@lru_cache(maxsize=8)
def _face(path: Path) -> hb.Face:
    # Read once per process: about 5 ms for the 3 MB face, then shared by every subset.
    return hb.Face(hb.Blob.from_file_path(str(path)))
