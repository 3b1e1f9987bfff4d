"""What an uploaded .xlsx (or .csv) may hold, counted while its zip entries are inflated,
so that a sheet is refused in proportion to its size and never after a minute of parsing.

An .xlsx is a zip of XML parts. openpyxl loads some parts whole (shared strings, styles,
the workbook), and on opening reads every sheet up to its ``<dimension>`` element, which
generated files leave out: the whole sheet, before a single row is returned. A 3.7 MB file
can carry 5,000,000 rows, a shared-strings part millions of entries, and a sheet may sit
anywhere the workbook's relationships point. So before openpyxl opens anything, *every*
part is inflated here a chunk at a time and thrown away, counting its bytes, rows, cells
and shared strings, each against its limit. Memory: a chunk. Time: about a second per
500 MB of XML.
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
# Parts that openpyxl reads whole: what each may inflate to; sheets are streamed.
_WHOLE_LIMITS = {"xl/sharedStrings.xml": 64 * MB}
_OTHER_PART_LIMIT = 16 * MB
MAX_SHEET_BYTES = 512 * MB
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_SHARED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_OVERLAP = 48  # longer than any tag start the patterns look for


@dataclass(frozen=True)
class SheetLimits:
    rows: int  # <row> elements, empty ones included (Excel writes those for formatted rows)
    cells: int  # <c> elements, and shared strings

    @classmethod
    def for_rows(cls, max_rows: int) -> SheetLimits:
        return cls(rows=4 * max_rows + 1000, cells=64 * (max_rows + 1000))


def check_xlsx(archive: zipfile.ZipFile, limits: SheetLimits, max_rows: int) -> None:
    """Every part of the workbook within its bytes, rows, cells and shared strings."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        _too_large(f"表格文件包含 {len(infos)} 个部件，超过上限 {MAX_ENTRIES}，请检查文件")
    for info in infos:
        if not info.is_dir():
            _check_part(archive, info, limits, max_rows)


def _check_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: SheetLimits, max_rows: int) -> None:
    streamed = info.filename.startswith("xl/worksheets/")
    byte_limit = MAX_SHEET_BYTES if streamed else _WHOLE_LIMITS.get(info.filename, _OTHER_PART_LIMIT)
    rows = cells = shared = size = 0
    carry = b""
    for chunk in _inflated(archive, info):
        size += len(chunk)
        window = carry + chunk
        counted = len(window) - _OVERLAP if len(window) > _OVERLAP else 0
        rows += _count(_ROW, window, counted)
        cells += _count(_CELL, window, counted)
        shared += _count(_SHARED, window, counted)
        carry = window[counted:]
        if rows > limits.rows:
            _too_large(f"表格超过 {max_rows} 行（文件中有 {limits.rows} 行以上），请分批提交", "too_many_rows")
        if cells > limits.cells or shared > limits.cells:
            _too_large(f"表格的单元格超过 {limits.cells} 个，请删除多余的行列后分批提交", "too_many_cells")
        if size > byte_limit:
            _too_large(f"表格文件中的 {info.filename} 解压后超过 {byte_limit // MB} MB，请检查文件或另存后重新上传")


def _count(pattern: re.Pattern, window: bytes, before: int) -> int:
    return sum(1 for match in pattern.finditer(window) if match.start() < before)


def check_csv(data: bytes, limits: SheetLimits, max_rows: int) -> None:
    """A CSV's lines and fields, counted in C before the csv module reads one."""
    if data.count(b"\n") + data.count(b"\r") > 2 * limits.rows:
        _too_large(f"表格超过 {max_rows} 行（文件中有 {limits.rows} 行以上），请分批提交", "too_many_rows")
    if data.count(b",") > limits.cells:
        _too_large(f"表格的单元格超过 {limits.cells} 个，请删除多余的行列后分批提交", "too_many_cells")


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
