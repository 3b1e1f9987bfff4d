"""Publicity tables and rosters: long lists, header on every page, rows kept whole, spreadsheets."""

from __future__ import annotations

import copy
import csv
import io
import json

import pypdfium2 as pdfium
import pytest
from openpyxl import Workbook
from PIL import ImageChops

from service import FONTS_DIR, TEMPLATES_DIR
from service.config import Limits
from service.documents.tabular import Column, ListLayout, advances_for
from service.forms import publicity, roster
from service.forms.spec import RenderContext, render_form
from tests.conftest import auth, load_contract
from tests.golden import assert_matches_golden
from tests.pdftext import page_texts, pdf_text, squash

PRE_HEADER = "序号姓名性别单位学历现职称任职年限申报专业申报资格申报类型"
RESULT_HEADER = "序号姓名性别单位现职称专业资格名称评审结果"


def with_rows(payload: dict, count: int) -> dict:
    """``count`` rows with distinct names, cycling through the contract's rows."""
    payload = copy.deepcopy(payload)
    base = payload["rows"]
    payload["rows"] = [
        dict(base[i % len(base)], name=f"{base[i % len(base)]['name'][:2]}{i:05d}") for i in range(count)
    ]
    return payload


def render_publicity(renderer, payload, limits=Limits()):
    return render_form(renderer, publicity.SPEC, publicity.SPEC.validate(payload, limits), RenderContext(FONTS_DIR))


@pytest.mark.parametrize("name", ["publicity-pre-review.json", "publicity-result.json"])
def test_contract_publicity_prints_every_value(renderer, name):
    payload = load_contract(name)
    text = pdf_text(render_publicity(renderer, payload))
    expected = [
        payload["title"],
        payload["publisher"],
        payload["intro"],
        payload["contact"]["text"],
        payload["contact"]["phone"],
        payload["contact"]["supervision_phone"],
        payload["contact"]["address"],
        "2024年12月23日至2024年12月27日（5个工作日）",
        "2024年12月23日",
    ]
    for row in payload["rows"]:
        expected += [str(v) for v in row.values()]
    missing = [s for s in expected if squash(s) not in text]
    assert missing == []
    assert f"共{len(payload['rows'])}人" in text


@pytest.mark.parametrize(
    ("name", "header"), [("publicity-pre-review.json", PRE_HEADER), ("publicity-result.json", RESULT_HEADER)]
)
def test_long_publicity_repeats_the_header_and_keeps_rows_whole(renderer, name, header):
    payload = with_rows(load_contract(name), 400)
    payload["rows"][7]["unit"] = (
        "湖北省武汉市东湖新技术开发区光谷生物城某某生物医药科技股份有限公司研发中心第三实验室（长名称换行）"
    )
    pages = [squash(t) for t in page_texts(render_publicity(renderer, payload))]
    assert len(pages) >= 8
    names = [row["name"] for row in payload["rows"]]
    table_pages = [p for p in pages if any(name in p for name in names)]
    assert len(table_pages) >= 8
    for text in table_pages:
        assert header in text
    keys = [c.key for c in publicity.COLUMNS[payload["kind"]]][1:]
    for number, row in enumerate(payload["rows"], start=1):
        whole = squash(str(number) + "".join(str(row.get(k) or "") for k in keys))
        # The whole row, in column order, on exactly one page.
        assert sum(whole in text for text in pages) == 1, row["name"]


def test_runs_of_one_line_rows_break_over_pages_where_rows_of_cells_do(renderer):
    """A run of one-line rows is one cell with a block per row (tabular.runs): each row must
    still fall on the page it falls on when every row is a row of cells, the plain way."""
    payload = with_rows(load_contract("publicity-pre-review.json"), 400)
    payload["rows"][57]["unit"] = "湖北省武汉市东湖新技术开发区光谷生物城某某生物医药科技股份有限公司研发中心（换行）"
    model = publicity.SPEC.validate(payload, Limits())

    def page_of_each_row(fast: bool) -> list[int]:
        pdf = render_form(renderer, publicity.SPEC, model, RenderContext(FONTS_DIR, fast_lists=fast))
        pages = [squash(t) for t in page_texts(pdf)]
        return [next(i for i, text in enumerate(pages) if row["name"] in text) for row in payload["rows"]]

    runs, cells = page_of_each_row(True), page_of_each_row(False)
    assert max(runs) >= 12 and runs == cells


def test_runs_group_the_one_line_rows_between_rows_of_cells():
    layout = publicity.build_context(
        publicity.SPEC.validate(load_contract("publicity-pre-review.json"), Limits()), RenderContext(FONTS_DIR)
    )["layout"]
    one, two, wide, three = (
        layout.row(cells) for cells in (["1", "张三"], ["2", "李四"], ["3", "很" * 80], ["4", "王五"])
    )
    assert wide.line is None and one.line is not None
    assert layout.runs([one, two, wide, three]) == [
        ("lines", [one, two]),
        ("row", [wide]),
        ("lines", [three]),
    ]
    assert layout.runs([]) == []


def test_rows_that_fit_are_centred_in_their_columns(renderer):
    payload = load_contract("publicity-result.json")
    pdf = render_publicity(renderer, payload)
    layout = publicity.build_context(publicity.SPEC.validate(payload, Limits()), RenderContext(FONTS_DIR))["layout"]
    bounds = layout.column_bounds()
    document = pdfium.PdfDocument(pdf)
    textpage = document[0].get_textpage()
    text = textpage.get_text_range()
    left_edge = _table_left_mm(textpage, text)
    checked = 0
    for row in payload["rows"][:20]:
        position = text.find(row["name"])
        for key, (left, right) in zip([c.key for c in publicity.COLUMNS["result"]][1:], bounds[1:]):
            value = str(row[key])
            start = text.find(value, position)
            position = start + len(value)
            first, last = textpage.get_charbox(start), textpage.get_charbox(start + len(value) - 1)
            centre = ((first[0] + last[2]) / 2) / 72 * 25.4 - left_edge
            # Spaces place a text within 0.4 mm of the centre; glyph outlines add a little.
            assert abs(centre - (left + right) / 2) < 0.8, (row["name"], key, centre, (left + right) / 2)
            checked += 1
    assert checked == 20 * 7


def _pages_as_drawn(pdf: bytes) -> list:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=2, grayscale=True).to_pil().convert("L") for page in document]
    finally:
        document.close()


def test_drawn_rows_print_as_the_same_rows_laid_out_as_text(renderer, monkeypatch):
    """The one-line rows drawn straight into the page (drawn_lines) against the same rows
    laid out as text by WeasyPrint: the same pages to the pixel, the same text layer, and
    the same characters at the same places."""
    from service.documents import drawn_lines, tabular

    payload = with_rows(load_contract("publicity-pre-review.json"), 60)
    drawn_blocks = []
    real = drawn_lines.draw_placed_lines
    monkeypatch.setattr(drawn_lines, "draw_placed_lines", lambda d, a: drawn_blocks.append(d) or real(d, a))
    drawn = render_publicity(renderer, payload)
    assert drawn_blocks, "no row was drawn"
    monkeypatch.setattr(tabular.Advances, "covers", lambda self, text: False)  # every row laid out as text
    laid_out = render_publicity(renderer, payload)
    assert len(drawn_blocks) == 1

    assert page_texts(drawn) == page_texts(laid_out)
    pages, expected = _pages_as_drawn(drawn), _pages_as_drawn(laid_out)
    assert len(pages) == len(expected) >= 2
    for page, want in zip(pages, expected):
        difference = ImageChops.difference(page, want)
        assert difference.getbbox() is None or max(difference.getdata()) < 48

    def origins(pdf: bytes) -> list[tuple[str, float, float]]:
        document = pdfium.PdfDocument(pdf)
        try:
            found = []
            for page in document:
                textpage = page.get_textpage()
                text = textpage.get_text_range()
                for i in range(textpage.count_chars()):
                    if not text[i].isspace():
                        left, bottom, _, _ = textpage.get_charbox(i, loose=True)
                        found.append((text[i], round(left, 1), round(bottom, 1)))
            return found
        finally:
            document.close()

    assert origins(drawn) == origins(laid_out)


def test_a_drawn_row_prints_markup_characters_as_text(renderer):
    """A row's line travels in an attribute (drawn_lines): quotes, angle brackets and
    ampersands in it are the row's text, printed, never markup."""
    payload = with_rows(load_contract("publicity-pre-review.json"), 30)
    payload["rows"][4]["unit"] = "A&B<i>\"C\"</i>'D'"
    layout = publicity.build_context(publicity.SPEC.validate(payload, Limits()), RenderContext(FONTS_DIR))["layout"]
    assert layout.row(["5", "张三", "男", "A&B<i>\"C\"</i>'D'"]).drawn
    assert squash("A&B<i>\"C\"</i>'D'") in squash(pdf_text(render_publicity(renderer, payload)))


def test_a_row_with_a_character_the_main_face_lacks_is_laid_out_as_text(renderer):
    """Its character comes from the fallback face (HanaMin): left to WeasyPrint, which picks
    it, and printed."""
    payload = with_rows(load_contract("publicity-pre-review.json"), 30)
    payload["rows"][5]["name"] = "王\U0002000b"
    layout = publicity.build_context(publicity.SPEC.validate(payload, Limits()), RenderContext(FONTS_DIR))["layout"]
    rare = layout.row(["6", "王\U0002000b"])
    common = layout.row(["7", "王五"])
    assert rare.line is not None and not rare.drawn and common.drawn
    assert (
        not layout.row(["8", "王\u302a"]).drawn and not layout.row(["9", "王\u00ad五"]).drawn
    )  # shaped: left to Pango
    assert "王\U0002000b" in squash(pdf_text(render_publicity(renderer, payload)))


def _table_left_mm(textpage, text) -> float:
    # The page's left margin (landscape.css): the table starts there.
    return 15.0


def test_five_thousand_rows_render(renderer):
    payload = with_rows(load_contract("publicity-pre-review.json"), 5000)
    pdf = render_publicity(renderer, payload)
    pages = page_texts(pdf)
    assert len(pages) > 150
    assert "00000" in squash(pages[0]) and "04999" in squash("".join(pages[-3:]))
    assert f"第{len(pages)}页共{len(pages)}页" in squash(pages[-1])


def test_a_list_beyond_the_limit_is_refused_up_front_with_413(client, keys):
    payload = with_rows(load_contract("publicity-result.json"), 10_001)
    response = client.post("/api/v1/forms/publicity", json=payload, headers=auth(keys["staff"]))
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"path": "rows", "message": "名单共 10001 行，超过上限 10000 行，请分批提交", "type": "too_many_rows"}
    ]


@pytest.mark.parametrize("kind", ["final", {"a": 1}, ["result"], 3])
def test_unknown_kind_is_named(client, keys, kind):
    payload = load_contract("publicity-result.json")
    payload["kind"] = kind
    response = client.post("/api/v1/forms/publicity", json=payload, headers=auth(keys["staff"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "kind"
    for body in ([1, 2], "text", None):
        assert client.post("/api/v1/forms/publicity", json=body, headers=auth(keys["staff"])).status_code == 422


def test_bad_row_is_named_by_its_index(client, keys):
    payload = load_contract("publicity-pre-review.json")
    payload["rows"][3]["years_in_title"] = "五年"
    payload["rows"][5]["gender"] = "M"
    response = client.post("/api/v1/forms/publicity", json=payload, headers=auth(keys["staff"]))
    assert response.status_code == 422
    assert {(e["path"], e["message"]) for e in response.json()["errors"]} == {
        ("rows[3].years_in_title", "应为整数"),
        ("rows[5].gender", "应为以下之一：男、女"),
    }


# --- spreadsheets ---------------------------------------------------------------

HEADINGS = ["序号", "姓名", "性别", "单位", "学历", "现职称", "任职年限", "申报专业", "申报资格", "申报类型"]


def sheet_rows(count=5):
    rows = load_contract("publicity-pre-review.json")["rows"][:count]
    return [
        [
            i + 1,
            r["name"],
            r["gender"],
            r["unit"],
            r["education"],
            r["current_title"],
            r["years_in_title"],
            r["specialty"],
            r["title"],
            r["route"],
        ]
        for i, r in enumerate(rows)
    ]


def xlsx_bytes(headings, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["武汉东湖化工研究院有限公司 职称申报人员名单"])  # a title line above the headings
    sheet.append([])
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(headings, rows, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(client, keys, filename, data, meta=None):
    if meta is None:
        meta = load_contract("publicity-pre-review.json")
        del meta["rows"]
    return client.post(
        "/api/v1/forms/publicity",
        data={"meta": json.dumps(meta, ensure_ascii=False)},
        files={"file": (filename, data, "application/octet-stream")},
        headers=auth(keys["staff"]),
    )


def test_xlsx_title_line_above_the_headings_is_skipped(client, keys):
    response = upload(client, keys, "名单.xlsx", xlsx_bytes(HEADINGS, sheet_rows()))
    assert response.status_code == 200, response.text
    assert squash("".join(str(v) for v in sheet_rows()[0])) in pdf_text(response.content)


@pytest.mark.parametrize("kind", ["xlsx", "csv-utf8", "csv-gbk"])
def test_spreadsheet_upload_renders_the_rows(client, keys, kind):
    rows = sheet_rows()
    if kind == "xlsx":
        book = Workbook()
        book.active.append(HEADINGS)
        for row in rows:
            book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        filename, data = "名单.xlsx", buffer.getvalue()
    else:
        filename, data = "名单.csv", csv_bytes(HEADINGS, rows, "utf-8-sig" if kind == "csv-utf8" else "gbk")
    response = upload(client, keys, filename, data)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    for row in rows:
        assert squash("".join(str(v) for v in row)) in text


def test_spreadsheet_missing_column_is_named(client, keys):
    headings = [h for h in HEADINGS if h != "姓名"]
    rows = [r[:1] + r[2:] for r in sheet_rows()]
    response = upload(client, keys, "名单.csv", csv_bytes(headings, rows))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "file", "message": "表格第 1 行（列标题）缺少：姓名 列", "type": "missing_column"}
    ]


def test_spreadsheet_bad_cell_is_named_by_row_and_column(client, keys):
    rows = sheet_rows()
    rows[2][6] = "七年"
    rows[4][2] = "未知"
    response = upload(client, keys, "名单.csv", csv_bytes(HEADINGS, rows))
    assert response.status_code == 422
    messages = {e["message"] for e in response.json()["errors"]}
    assert messages == {"表格第 4 行「任职年限」列：应为整数", "表格第 6 行「性别」列：应为以下之一：男、女"}


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("名单.xlsx", b"PK\x03\x04 not really a zip", "不是有效的 .xlsx"),
        ("名单.xlsx", b"", "不是有效的 .xlsx"),
        ("名单.xls", b"\xd0\xcf\x11\xe0 old excel", ".xls"),
        ("名单.pdf", b"%PDF-1.7", "不支持的文件类型"),
        ("名单.csv", b"", "表格是空的"),
        ("名单.csv", "\ufeff姓名\n".encode() + bytes([0xFF, 0xFE, 0x00, 0x01]) * 10, "编码"),
    ],
)
def test_broken_files_get_a_clear_422(client, keys, filename, data, fragment):
    response = upload(client, keys, filename, data)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["message"]


def test_spreadsheet_without_meta_or_file(client, keys):
    response = client.post(
        "/api/v1/forms/publicity", files={"file": ("a.csv", b"x", "text/csv")}, headers=auth(keys["staff"])
    )
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "meta"
    response = client.post(
        "/api/v1/forms/publicity",
        content=b"meta=1",
        headers={**auth(keys["staff"]), "content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] in ("bad_multipart", "missing")


def test_spreadsheet_beyond_the_row_limit_is_413(settings, keys, client):
    rows = [[i, f"姓名{i}", "男", "单位", "本科", "助理工程师", 3, "化工", "工程师", "正常"] for i in range(10_001)]
    response = upload(client, keys, "名单.csv", csv_bytes(HEADINGS, rows))
    assert response.status_code == 413


def test_upload_only_where_a_form_takes_one(client, keys):
    response = client.post(
        "/api/v1/forms/review-form",
        data={"meta": "{}"},
        files={"file": ("a.csv", b"x", "text/csv")},
        headers=auth(keys["platform"]),
    )
    assert response.status_code == 415


# --- roster ---------------------------------------------------------------------


def test_roster_from_rows_and_declarations(renderer, contract_declaration):
    sample = json.loads((TEMPLATES_DIR / "forms" / "roster" / "sample.json").read_text("utf-8"))
    model = roster.SPEC.validate(sample, Limits())
    pdf = render_form(renderer, roster.SPEC, model, RenderContext(FONTS_DIR))
    text = pdf_text(pdf)
    d = contract_declaration
    # The declaration's row, derived: name, birth month, highest education, current title and its date,
    # papers counted, reviews summarized, unit.
    assert (
        squash(
            f"25{d['applicant']['name']}女1989.05大学本科助理工程师2016.12化工工程师正常81合格3优秀2"
            f"{d['application']['recommending_unit']['name']}"
        )
        in text
    )
    assert "合计25人（正常21人，破格4人）" in text
    assert_matches_golden(pdf, "roster/sample")


def test_long_roster_repeats_its_header(renderer):
    rows = [
        {"name": f"申报人{i:04d}", "gender": "男", "unit": "某单位", "title": "工程师", "route": "正常"}
        for i in range(300)
    ]
    model = roster.SPEC.validate({"title": "花名册", "date": "2024-10-15", "rows": rows}, Limits())
    pages = [squash(t) for t in page_texts(render_form(renderer, roster.SPEC, model, RenderContext(FONTS_DIR)))]
    assert len(pages) >= 5
    for text in pages:
        assert "序号姓名性别出生年月学历现职称取得时间申报专业申报资格申报类型任职年限论文数年度考核单位备注" in text


def test_roster_needs_rows_or_declarations(client, keys):
    response = client.post(
        "/api/v1/forms/roster", json={"title": "花名册", "date": "2024-10-15"}, headers=auth(keys["platform"])
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "rows 或 declarations 至少提供一项"


# --- a list running over a page ends closed at its foot ---------------------------

MM = 72 / 25.4  # points per mm


def _foot_of_the_table(pdf: bytes, page_number: int, scale: float = 4.0):
    """Page ``page_number``'s raster (grey) and, in its pixels, the bottom of the table's
    last line of text, the top of the page number below it and the table's left and right."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[page_number - 1]
        height = page.get_height()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        footer = text.rindex("第")
        boxes = [textpage.get_charbox(i) for i in range(textpage.count_chars()) if not text[i].isspace()]
        footer_top = max(box[3] for box in boxes[-len(squash(text[footer:])) :])
        body = boxes[: -len(squash(text[footer:]))]
        image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    text_bottom = min(box[1] for box in body)
    left, right = min(box[0] for box in body), max(box[2] for box in body)
    to_px = lambda y: round((height - y) * scale)  # noqa: E731
    return image, to_px(text_bottom), to_px(footer_top), round(left * scale), round(right * scale)


def assert_closed_at_the_foot(pdf: bytes, page_number: int) -> None:
    """Below the table's last row: its bottom rule, then nothing (no empty, open row
    ruled down to the page foot) until the page number."""
    image, text_bottom, footer_top, left, right = _foot_of_the_table(pdf, page_number)
    scale = 4.0
    rule_band = range(text_bottom, text_bottom + round(2.5 * MM * scale))
    dark_rows = [
        y for y in rule_band if sum(image.getpixel((x, y)) < 128 for x in range(left, right)) > 0.9 * (right - left)
    ]
    assert dark_rows, "the last row on the page has no bottom rule"
    below = image.crop((0, dark_rows[-1] + round(0.5 * MM * scale), image.width, footer_top - round(1 * MM * scale)))
    assert below.getextrema()[0] > 200, "ink between the table's last row and the page number"


def test_publicity_rows_moved_to_the_next_page_leave_no_empty_row(renderer):
    """The closing block takes the last two rows to page 2; page 1 ends with row 22 and its
    rule, not with an empty row ruled down to the page foot."""
    payload = load_contract("publicity-pre-review.json")
    pdf = render_publicity(renderer, payload)
    pages = page_texts(pdf)
    assert len(pages) == 2 and squash(payload["rows"][-1]["name"]) in squash(pages[1])
    assert_closed_at_the_foot(pdf, 1)


@pytest.mark.parametrize("count", [16, 40])
def test_roster_totals_stay_with_the_last_rows_and_the_table_is_closed(renderer, count):
    rows = [
        {"name": f"申报人{i:04d}", "gender": "男", "unit": "某单位", "title": "工程师", "route": "正常"}
        for i in range(count)
    ]
    model = roster.SPEC.validate({"title": "花名册", "date": "2024-10-15", "rows": rows}, Limits())
    pdf = render_form(renderer, roster.SPEC, model, RenderContext(FONTS_DIR))
    pages = [squash(t) for t in page_texts(pdf)]
    assert len(pages) >= 2
    # The totals never stand alone: the last two rows come with them.
    assert f"合计{count}人" in pages[-1]
    assert rows[-1]["name"] in pages[-1] and rows[-2]["name"] in pages[-1]
    for number in range(1, len(pages)):
        assert_closed_at_the_foot(pdf, number)


# --- goldens and the layout engine ----------------------------------------------


@pytest.mark.parametrize("name", ["publicity-pre-review.json", "publicity-result.json"])
def test_publicity_matches_golden(renderer, name):
    assert_matches_golden(render_publicity(renderer, load_contract(name)), f"publicity/{name.removesuffix('.json')}")


def test_list_layout_falls_back_to_cells_when_a_text_does_not_fit():
    layout = ListLayout(
        (Column("a", "甲", 50), Column("b", "乙", 50)), 40.0, 9.0, 1.0, advances_for(RenderContext(FONTS_DIR).main_font)
    )
    fits = layout.row(["张三", "女"])
    assert fits.line is not None and squash(fits.line) == "张三女"
    too_long = layout.row(["张三" * 10, "女"])
    assert too_long.line is None and too_long.cells == ("张三" * 10, "女")
    assert layout.row(["第一行\n第二行", "x"]).line is None


def test_list_layout_refuses_columns_not_adding_up():
    with pytest.raises(ValueError):
        ListLayout(
            (Column("a", "甲", 50), Column("b", "乙", 40)),
            40.0,
            9.0,
            1.0,
            advances_for(RenderContext(FONTS_DIR).main_font),
        )


def test_list_rows_carry_no_style_of_their_own_and_the_padding_rule_is_not_typeset(renderer, monkeypatch):
    """A style attribute on every row kept WeasyPrint from sharing the rows' computed styles
    (the 3,000-row list took a third longer): the cells' padding is one rule of the list,
    and the typesetter leaves that rule's text alone (a joiner inside it voids the rule)."""
    from service.documents import typeset

    seen = []
    real = renderer._layout
    monkeypatch.setattr(renderer, "_layout", lambda html, template: seen.append(html) or real(html, template))
    payload = with_rows(load_contract("publicity-pre-review.json"), 30)
    payload["rows"][3]["unit"] = "一个很长的工作单位名称需要在单元格里换行才能放得下的那一种" * 2  # a row of cells
    render_publicity(renderer, payload)
    (html,) = seen
    table = html[html.index('<table class="grid list') :]
    body = table[table.index("<thead>") :]
    assert "style=" not in body
    # every kind of row is there: runs of one-line rows, the last two rows, a row of cells
    assert '<td class="lines"' in body and '<td class="line"' in body and "<td>" in body
    rule = html[html.index("<style>\ntable.list.") : html.index("</style>", html.index("<style>\ntable.list."))]
    assert typeset.plain(rule) == rule
    assert "td.line, table.list.pad-120 td.lines > div { padding-left: 1.2mm; }" in rule
    assert "th { padding-left: 1.2mm; padding-right: 1.2mm; }" in rule
