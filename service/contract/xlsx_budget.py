"""What an uploaded .xlsx may hold, counted while its zip entries are inflated, so that a
sheet is refused in proportion to its size and never after a minute of parsing.

An .xlsx is a zip of XML parts. openpyxl loads some parts whole (shared strings, styles,
the workbook), and on opening reads every sheet up to its ``<dimension>`` element, which
generated files leave out: the whole sheet, before a single row is returned. A 3.7 MB file
can carry 5,000,000 rows, and a shared-strings part can inflate to gigabytes. So before
openpyxl opens anything, every part is inflated here a chunk at a time and thrown away:
those it loads whole refused past their size, the sheets past their rows, cells and bytes.
Memory: a chunk. Time: about a second per 500 MB of XML.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass

from service.errors import FieldError, InvalidInput, TooLarge

CHUNK = 1 << 20
MB = 1024 * 1024
MAX_ENTRIES = 2_000
# Parts that openpyxl reads whole: what each may inflate to.
_WHOLE_LIMITS = {"xl/sharedStrings.xml": 64 * MB}
_OTHER_PART_LIMIT = 16 * MB
MAX_SHEET_BYTES = 512 * MB
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_OVERLAP = 48  # longer than any tag start the patterns look for


@dataclass(frozen=True)
class SheetLimits:
    rows: int  # <row> elements, empty ones included (Excel writes those for formatted rows)
    cells: int

    @classmethod
    def for_rows(cls, max_rows: int) -> SheetLimits:
        rows = 4 * max_rows + 1000
        return cls(rows=rows, cells=64 * (max_rows + 1000))


def check_parts(archive: zipfile.ZipFile, sheet_paths: set[str]) -> None:
    """Every part except the sheets: within its size (inflated, as it is read)."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        _too_large(f"表格文件包含 {len(infos)} 个部件，超过上限 {MAX_ENTRIES}，请检查文件")
    for info in infos:
        if info.filename in sheet_paths or info.is_dir():
            continue
        limit = _WHOLE_LIMITS.get(info.filename, _OTHER_PART_LIMIT)
        size = 0
        for chunk in _inflated(archive, info):
            size += len(chunk)
            if size > limit:
                _too_large(f"表格文件中的 {info.filename} 解压后超过 {limit // MB} MB，请检查文件或另存后重新上传")


def check_sheet(archive: zipfile.ZipFile, path: str, limits: SheetLimits, max_rows: int) -> None:
    """The sheet at ``path``: rows, cells and bytes within ``limits``, counted as it inflates."""
    try:
        info = archive.getinfo(path)
    except KeyError:
        return  # openpyxl will say what is missing
    rows = cells = size = 0
    carry = b""
    for chunk in _inflated(archive, info):
        size += len(chunk)
        window = carry + chunk
        counted = len(window) - _OVERLAP if len(window) > _OVERLAP else 0
        rows += sum(1 for m in _ROW.finditer(window, 0, len(window)) if m.start() < counted)
        cells += sum(1 for m in _CELL.finditer(window, 0, len(window)) if m.start() < counted)
        carry = window[counted:]
        if rows > limits.rows:
            _too_large(f"表格超过 {max_rows} 行（文件中有 {limits.rows} 行以上），请分批提交", "too_many_rows")
        if cells > limits.cells:
            _too_large(f"表格的单元格超过 {limits.cells} 个，请删除多余的行列后分批提交", "too_many_cells")
        if size > MAX_SHEET_BYTES:
            _too_large(f"表格内容解压后超过 {MAX_SHEET_BYTES // MB} MB，请分批提交")


def _inflated(archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    try:
        with archive.open(info) as part:
            while chunk := part.read(CHUNK):
                yield chunk
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        message = f"文件不是有效的 .xlsx 表格，无法读取（{info.filename} 已损坏或已加密）"
        raise InvalidInput(message, errors=[FieldError("file", message, "bad_file")]) from exc


def _too_large(message: str, kind: str = "too_large") -> None:
    raise TooLarge(message, errors=[FieldError("file", message, kind)])
