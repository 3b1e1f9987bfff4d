"""Fontconfig isolated to the project's ``fonts/`` folder.

Pango finds fonts through fontconfig, which reads ``FONTCONFIG_FILE`` when a
WeasyPrint ``FontConfiguration`` is created. Pointing it at ``fonts/fonts.conf``
(which lists that folder only) means host fonts never change the output.
"""

from __future__ import annotations

import os
from pathlib import Path

MAIN_FAMILY = "Noto Serif CJK SC"
MAIN_FACE = "NotoSerifSC-Regular.otf"  # the file of MAIN_FAMILY's regular face, in fonts/


def fontconfig_file(fonts_dir: Path) -> Path:
    path = (fonts_dir / "fonts.conf").resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the shipped fonts are not in place (see fonts/README.md)")
    return path


def isolate_fontconfig(fonts_dir: Path) -> None:
    """Make the next FontConfiguration read only the shipped fonts."""
    os.environ["FONTCONFIG_FILE"] = str(fontconfig_file(fonts_dir))
