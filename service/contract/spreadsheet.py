"""Rows from a spreadsheet (.xlsx or .csv), as staff keep their lists.

The first non-empty row holds the column headings (Chinese, as printed on
the form, or the JSON field names). What comes out is a list of dicts keyed
by field name, ready for the same validation as JSON rows; errors name the
spreadsheet's row and column so that a clerk can find the cell.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

from service.contract import xlsx_budget
from service.errors import FieldError, InvalidInput, TooLarge


@dataclass(frozen=True)
class SheetRows:
    rows: list[dict]
    sheet_rows: list[int]  # the spreadsheet row number of each row (1-based, as Excel shows)
    headings: dict[str, str]  # field → the heading it came from


def read_sheet(
    filename: str, data: bytes, headings: dict[str, tuple[str, ...]], required: tuple[str, ...], max_rows: int
) -> SheetRows:
    """Rows as dicts. Streams the sheet: the headings are checked on the first rows (a
    missing column is answered at once, whatever the length), and reading stops at
    ``max_rows`` + 1 (413) instead of loading a sheet of millions of rows."""
    kind = _kind(filename, data)
    table = _xlsx_rows(data, max_rows) if kind == "xlsx" else _csv_rows(data, max_rows)
    try:
        return _map_rows(table, headings, required, max_rows)
    finally:
        table.close()


def _kind(filename: str, data: bytes) -> str:
    name = filename.lower()
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".csv", ".txt")) or not name:
        return "csv"
    if name.endswith(".xls"):
        _fail("暂不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 .csv 后上传")
    _fail(f"不支持的文件类型：{filename}；请上传 .xlsx 或 .csv 文件")


def _fail(message: str, path: str = "file") -> NoReturn:
    raise InvalidInput(message, errors=[FieldError(path, message, "bad_file")])


def _xlsx_rows(data: bytes, max_rows: int) -> Generator[tuple[int, list[Any]], None, None]:
    """The first sheet's rows, streamed; every part's size, and every sheet's rows and
    cells, counted before openpyxl opens the file (it reads each sheet to its dimensions
    on opening: the whole sheet when, as in generated files, they are not given)."""
    # openpyxl is imported by spreadsheet uploads only (0.2 s of start-up for the rest).
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        _fail(f"文件不是有效的 .xlsx 表格，无法读取（{_reason(exc)}）")
    with archive:
        xlsx_budget.check_xlsx(archive, xlsx_budget.SheetLimits.for_rows(max_rows), max_rows)
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - whatever openpyxl or its XML parser raises: a bad file
            _fail(f"文件不是有效的 .xlsx 表格，无法读取（{_reason(exc)}）")
        try:
            sheet = book.worksheets[0]
            rows = enumerate(sheet.iter_rows(values_only=True), start=1)
            while True:
                try:
                    number, values = next(rows)
                except StopIteration:
                    return
                except Exception as exc:  # noqa: BLE001 - a sheet whose XML breaks half-way: a bad file
                    _fail(f"文件不是有效的 .xlsx 表格，无法读取（{_reason(exc)}）")
                yield number, list(values)
        finally:
            book.close()


def _reason(exc: Exception) -> str:
    """Why a file could not be read, in words a clerk can pass on (not an exception's name)."""
    if isinstance(exc, zipfile.BadZipFile):
        return "不是 zip 格式，或已损坏"
    if isinstance(exc, (KeyError, IndexError)):
        return "缺少工作表或其组成部分"
    if isinstance(exc, SyntaxError):  # xml.etree's ParseError, defusedxml's refusals
        return "其中的 XML 内容已损坏或不被接受"
    return "文件已损坏或格式不符"


def _csv_rows(data: bytes, max_rows: int) -> Generator[tuple[int, list[Any]], None, None]:
    xlsx_budget.check_csv(data, xlsx_budget.SheetLimits.for_rows(max_rows), max_rows)
    # Excel saves CSV in the system code page (GB 18030 family) on Chinese
    # Windows, and as UTF-8 with a BOM when asked for "CSV UTF-8".
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        _fail("CSV 文件编码无法识别：请保存为 UTF-8 或 GBK 编码")
    if "\x00" in text:
        _fail("文件不是文本格式的 CSV，请检查文件")
    try:
        yield from enumerate(csv.reader(io.StringIO(text)), start=1)
    except csv.Error as exc:
        _fail(f"CSV 文件格式有误：{exc}")


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _normalize(heading: Any) -> str:
    return "".join(str(heading or "").split()).lower()


def _map_rows(table: Iterator[tuple[int, list[Any]]], headings, required, max_rows) -> SheetRows:
    filled = ((n, values) for n, values in table if any(_cell(v) is not None for v in values))
    lookup = {}
    for key, names in headings.items():
        for name in (key, *names):
            lookup[_normalize(name)] = key
    # The heading row is the first with every required heading; a title line
    # or two above it (as lists printed from Excel often have) is skipped.
    first = None
    for _ in range(10):
        row = next(filled, None)
        if row is None:
            break
        first = first or row
        columns, found = _columns(row[1], lookup)
        if all(key in found for key in required):
            break
    else:
        row = None
    if first is None:
        _fail("表格是空的：第一行应为列标题（如 姓名、性别、单位）")
    if row is None or not all(key in found for key in required):
        header_number, header = first
        columns, found = _columns(header, lookup)
        missing = [headings[key][0] if headings.get(key) else key for key in required if key not in found]
        message = f"表格第 {header_number} 行（列标题）缺少：{'、'.join(missing)} 列"
        raise InvalidInput(message, errors=[FieldError("file", message, "missing_column")])
    rows: list[dict] = []
    numbers: list[int] = []
    for number, values in filled:
        if len(rows) >= max_rows:
            message = f"表格超过 {max_rows} 行，请分批提交"
            raise TooLarge(message, errors=[FieldError("file", message, "too_many_rows")])
        rows.append({key: _cell(values[i]) if i < len(values) else None for i, key in columns.items()})
        numbers.append(number)
    return SheetRows(rows=rows, sheet_rows=numbers, headings=found)


def _columns(header, lookup) -> tuple[dict[int, str], dict[str, str]]:
    columns: dict[int, str] = {}
    found: dict[str, str] = {}
    for index, heading in enumerate(header):
        key = lookup.get(_normalize(heading))
        if key and key not in found:
            columns[index] = key
            found[key] = str(heading).strip()
    return columns, found


def sheet_errors(error: InvalidInput, sheet: SheetRows, list_field: str = "rows") -> InvalidInput:
    """Restate ``rows[i].field`` errors as the spreadsheet's row and column."""
    restated = []
    for item in error.errors:
        prefix = f"{list_field}["
        if item.path.startswith(prefix) and "]" in item.path:
            index = int(item.path[len(prefix) : item.path.index("]")])
            field = item.path[item.path.index("]") + 2 :] if "]." in item.path else ""
            heading = sheet.headings.get(field, field)
            where = f"表格第 {sheet.sheet_rows[index]} 行" + (f"「{heading}」列" if heading else "")
            restated.append(FieldError(item.path, f"{where}：{item.message}", item.type))
        else:
            restated.append(item)
    return InvalidInput(f"表格中有 {len(restated)} 处错误，请按提示修改", errors=restated)
