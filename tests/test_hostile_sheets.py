"""Spreadsheets made to cost a parser time and memory: millions of rows in a few MB, a
shared-strings part inflating to gigabytes. Each is refused in proportion to its size,
within seconds, counted while the zip entry inflates."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from service.contract.spreadsheet import read_sheet
from service.errors import InvalidInput, TooLarge
from service.forms.publicity import HEADINGS as PUBLICITY_HEADINGS
from tests.test_lists import HEADINGS, upload

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def streamed_xlsx(
    header: str,
    body_block: str,
    blocks: int,
    shared_strings: tuple[str, int] | None = None,
    sheet_path: str = "xl/worksheets/sheet1.xml",
    closed: bool = True,
) -> bytes:
    """An .xlsx whose sheet is ``header`` then ``body_block`` ``blocks`` times, written a block
    at a time; ``shared_strings``: (a piece, how often) for the shared-strings part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
            'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application'
            '/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="/{sheet_path}"/>'
            "</Relationships>",
        )
        if shared_strings is not None:
            piece, times = shared_strings
            with archive.open("xl/sharedStrings.xml", "w") as part:
                part.write(f'<?xml version="1.0"?><sst xmlns="{_MAIN}">'.encode())
                block = (f"<si><t>{piece}</t></si>" * 1000).encode()
                for _ in range(times // 1000):
                    part.write(block)
                part.write(b"</sst>")
        with archive.open(sheet_path, "w") as part:
            part.write(f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData>{header}'.encode())
            encoded = body_block.encode()
            for _ in range(blocks):
                part.write(encoded)
            if closed:
                part.write(b"</sheetData></worksheet>")
    return out.getvalue()


def _inline_row(values: list[str]) -> str:
    return "<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values) + "</row>"


HEADER_ROW = _inline_row(["姓名", "性别", "单位"])
KEYS = {"name": ("姓名",), "gender": ("性别",), "unit": ("单位",)}


def five_million_rows() -> bytes:
    return streamed_xlsx(HEADER_ROW, _inline_row(["张三", "男", "某某公司"]) * 10_000, 500)


def five_million_empty_rows() -> bytes:
    return streamed_xlsx(HEADER_ROW, "<row/>" * 100_000, 50)


def test_five_million_rows_are_refused_within_seconds():
    data = five_million_rows()
    assert len(data) < 8 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(TooLarge) as refused:
        read_sheet("list.xlsx", data, KEYS, ("name",), 10_000)
    assert time.perf_counter() - started < 5
    assert refused.value.errors[0].path == "file" and "10000" in refused.value.message


def test_five_million_empty_rows_are_counted_too():
    """Empty rows are skipped when read; counted, they cost the parser the same time."""
    started = time.perf_counter()
    with pytest.raises(TooLarge):
        read_sheet("list.xlsx", five_million_empty_rows(), KEYS, ("name",), 10_000)
    assert time.perf_counter() - started < 5


def test_shared_strings_inflating_past_their_limit_are_refused_before_openpyxl_loads_them():
    data = streamed_xlsx(HEADER_ROW, "", 0, shared_strings=("某" * 200, 200_000))  # ~120 MB of strings
    assert len(data) < 4 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(TooLarge, match="sharedStrings"):
        read_sheet("list.xlsx", data, KEYS, ("name",), 10_000)
    assert time.perf_counter() - started < 5


def test_too_many_cells_in_few_rows_are_refused():
    wide = "<row>" + '<c t="inlineStr"><is><t>x</t></is></c>' * 20_000 + "</row>"
    with pytest.raises(TooLarge, match="单元格"):
        read_sheet("list.xlsx", streamed_xlsx(HEADER_ROW, wide, 40), KEYS, ("name",), 500)


def test_a_sheet_within_its_limits_reads_as_before():
    data = streamed_xlsx(HEADER_ROW, _inline_row(["张三", "男", "某某公司"]) * 100, 1)
    sheet = read_sheet("list.xlsx", data, KEYS, ("name",), 500)
    assert len(sheet.rows) == 100 and sheet.rows[0] == {"name": "张三", "gender": "男", "unit": "某某公司"}


def test_the_api_answers_413_for_half_a_million_rows(client, keys):
    headings = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADINGS)
    row = _inline_row(["1", "张三", "男", "某某公司", "本科", "工程师", "5", "化学工程", "高级工程师", "正常"])
    data = streamed_xlsx(f"<row>{headings}</row>", row * 5_000, 100)  # 500,000 rows
    started = time.perf_counter()
    response = upload(client, keys, "名单.xlsx", data)
    assert response.status_code == 413, response.text[:300]
    assert response.json()["errors"][0]["path"] == "file"
    assert time.perf_counter() - started < 10
    assert PUBLICITY_HEADINGS  # the headings used above are the form's own


def test_a_sheet_the_workbook_keeps_outside_the_worksheets_folder_is_counted_too():
    data = streamed_xlsx(HEADER_ROW, "<row/>" * 100_000, 30, sheet_path="xl/data/sheet1.xml")
    started = time.perf_counter()
    with pytest.raises(TooLarge):
        read_sheet("list.xlsx", data, KEYS, ("name",), 10_000)
    assert time.perf_counter() - started < 5


def test_millions_of_tiny_shared_strings_are_refused_by_count():
    data = streamed_xlsx(HEADER_ROW, "", 0, shared_strings=("a", 3_000_000))
    started = time.perf_counter()
    with pytest.raises(TooLarge, match="单元格"):
        read_sheet("list.xlsx", data, KEYS, ("name",), 10_000)
    assert time.perf_counter() - started < 5


def test_a_sheet_whose_xml_breaks_off_is_a_clear_422():
    data = streamed_xlsx(HEADER_ROW, _inline_row(["张三", "男", "某某公司"]) * 20, 1, closed=False)
    with pytest.raises(InvalidInput, match="不是有效的 .xlsx") as refused:
        read_sheet("list.xlsx", data, KEYS, ("name",), 500)
    assert not isinstance(refused.value, TooLarge) and "Error" not in refused.value.message


def test_a_csv_of_millions_of_empty_lines_is_refused_before_it_is_read():
    data = "姓名,性别\n".encode() + b",\n" * 5_000_000
    started = time.perf_counter()
    with pytest.raises(TooLarge):
        read_sheet("list.csv", data, {"name": ("姓名",), "gender": ("性别",)}, ("name",), 10_000)
    assert time.perf_counter() - started < 3
