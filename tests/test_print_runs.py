"""Print runs: many declarations of one form as one PDF, and a batch job's certificates in
one file for stamping; each applicant found on its own pages, duplex runs starting every
part on a recto with blank versos that say so, the same run giving the same bytes."""

from __future__ import annotations

import copy
import shutil
import subprocess
from datetime import date

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from service import PROFILES_DIR
from service.app import create_app
from service.documents.assemble import Part, assemble
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank
from tests.conftest import auth, load_contract, make_key
from tests.test_batches import request_for, wait_for

NAMES = ("王五", "张三", "李四")


def page_texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return ["".join(document[i].get_textpage().get_text_bounded().split()) for i in range(len(document))]
    finally:
        document.close()


def declarations(contract_declaration) -> list[dict]:
    items = []
    for index, name in enumerate(NAMES):
        d = copy.deepcopy(contract_declaration)
        d["declaration_id"] = f"RUN-{index}"
        d["applicant"]["name"] = name
        items.append(d)
    return items


def test_a_booklet_holds_each_applicant_on_its_own_pages_in_the_order_asked(client, keys, contract_declaration):
    body = {"items": declarations(contract_declaration), "sort_by": "applicant.name", "duplex": True}
    response = client.post("/api/v1/forms/summary-sheet/booklet", json=body, headers=auth(keys["platform"]))
    assert response.status_code == 200, response.text
    pages = page_texts(response.content)
    assert int(response.headers["X-Page-Count"]) == len(pages)
    assert response.headers["X-Part-Count"] == "3"
    manifest = pages[0]
    # the parts' pages count from the first part: 3 sheets of one page, each with its blank verso
    assert "共3份" in manifest and "正文6页" in manifest and "双面打印" in manifest
    ordered = sorted(NAMES)
    assert [manifest.index(n) for n in ordered] == sorted(manifest.index(n) for n in ordered)
    # the manifest's own verso is blank; each one-page summary sheet starts on a recto, its verso blank
    assert "此页无正文" in pages[1]
    for number, name in enumerate(ordered):
        sheet = 2 + 2 * number
        assert name in pages[sheet] and sheet % 2 == 0  # 0-based even: a recto
        assert "此页无正文" in pages[sheet + 1] and name not in pages[sheet + 1]
        assert f"{number + 1}{name}{2 * number + 1}1" in manifest  # seq, name, first page, pages
    again = client.post("/api/v1/forms/summary-sheet/booklet", json=body, headers=auth(keys["platform"]))
    assert again.content == response.content  # deterministic
    assert not list((client.app.state.services.settings.print_runs_dir).iterdir())  # the file went once sent


def test_a_simplex_booklet_has_no_blank_pages_and_no_manifest_when_asked(client, keys, contract_declaration):
    body = {"items": declarations(contract_declaration), "manifest": False}
    response = client.post("/api/v1/forms/summary-sheet/booklet", json=body, headers=auth(keys["platform"]))
    assert response.status_code == 200, response.text
    pages = page_texts(response.content)
    assert len(pages) == 3 and response.headers["X-Blank-Pages"] == "0"
    assert [name in page for name, page in zip(NAMES, pages)] == [True, True, True]  # the order given


def test_a_booklets_bad_items_are_named_by_their_index(client, keys, contract_declaration):
    items = declarations(contract_declaration)
    items[1]["applicant"]["gender"] = "M"
    response = client.post("/api/v1/forms/review-form/booklet", json={"items": items}, headers=auth(keys["platform"]))
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["items[1].applicant.gender"]
    unsortable = {"items": declarations(contract_declaration), "sort_by": "applicant.shoe_size"}
    response = client.post("/api/v1/forms/review-form/booklet", json=unsortable, headers=auth(keys["platform"]))
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "sort_by"
    empty = client.post("/api/v1/forms/review-form/booklet", json={"items": []}, headers=auth(keys["platform"]))
    assert empty.status_code == 422


def test_a_profile_that_prints_duplex_makes_duplex_runs_by_default(tmp_path, settings, contract_declaration):
    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, folder)
    path = folder / "hubei.toml"
    path.write_text(path.read_text("utf-8") + '\n[printing]\nduplex = true\nblank_text = "本页空白"\n', "utf-8")
    s = settings.model_copy(update={"profiles_dir": folder})
    with TestClient(create_app(s)) as client:
        key = make_key(s, "platform")
        body = {"items": declarations(contract_declaration)[:1], "manifest": False}
        response = client.post("/api/v1/forms/summary-sheet/booklet", json=body, headers=auth(key))
    pages = page_texts(response.content)
    assert len(pages) == 2 and "本页空白" in pages[1]


def test_the_review_forms_cover_stands_alone_on_its_sheet_when_duplex(settings, renderer):
    from service.profiles.load import load_profile

    spec = all_forms()["review-form"]
    profile = load_profile("hubei", PROFILES_DIR)
    d = spec.validate(load_contract("declaration.json"), settings.with_profile(profile).limits)
    from service.forms.spec import render_form

    duplex = page_texts(render_form(renderer, spec, d, RenderContext(settings.fonts_dir, profile=profile, duplex=True)))
    simplex = page_texts(render_form(renderer, spec, d, RenderContext(settings.fonts_dir, profile=profile)))
    assert "此页无正文" in duplex[1]  # the cover's verso
    assert len(duplex) >= len(simplex) + 1
    assert not any("此页无正文" in page for page in simplex)


def test_assembling_is_deterministic_and_pads_odd_parts(tmp_path, renderer, settings):
    ctx = RenderContext(settings.fonts_dir)
    one = render_blank(renderer, all_forms()["integrity-pledge"], ctx)
    blank = render_blank(renderer, all_forms()["transfer"], ctx)
    outputs = []
    for run in range(2):
        target = tmp_path / f"run-{run}.pdf"
        done = assemble(
            iter([Part("a", one), Part("b", one)]), target, day=date(2024, 12, 30), duplex=True, blank_page=blank
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    assert [(p.first_page, p.pages, p.padded) for p in done.parts] == [(1, 1, True), (3, 1, True)]
    assert done.pages == 4 and done.blanks == 2
    document = pdfium.PdfDocument(outputs[0])
    try:
        assert document.get_metadata_dict()["CreationDate"].startswith("D:20241230")
    finally:
        document.close()
    checked = subprocess.run(["qpdf", "--check", str(tmp_path / "run-0.pdf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def batch_env(tmp_path):
    from service.config import Settings

    s = Settings(data_dir=tmp_path / "data", seal_level="B-T", batch_processes=1, batch_chunk=5)
    with TestClient(create_app(s)) as client:
        yield client, {role: make_key(s, role) for role in ("platform", "staff", "admin")}


def test_a_batch_jobs_certificates_print_as_one_file_one_per_page(batch_env):
    client, keys = batch_env
    requests = [
        request_for(f"PRINT-{i}", ("420001", "湖北省工程技术中级专业技术职务任职资格评审委员会")) for i in range(3)
    ]
    created = client.post(
        "/api/v1/batches", json={"kind": "issue", "requests": requests}, headers=auth(keys["platform"])
    )
    assert created.status_code == 202, created.text
    done = wait_for(client, keys, created.json()["id"])
    assert done["done"] == 3
    printed = client.get(f"/api/v1/batches/{done['id']}/print", headers=auth(keys["platform"]))
    assert printed.status_code == 200, printed.text
    pages = page_texts(printed.content)
    assert len(pages) == 4 and printed.headers["X-Part-Count"] == "3"
    assert "供盖章打印" in pages[0]
    for page in pages[1:]:
        assert "张三" in page and "证书编号" in page
    # The seals (annotations in the sealed file) are drawn into the printed page itself.
    document = pdfium.PdfDocument(printed.content)
    try:
        image = document[1].render(scale=0.5).to_pil().convert("RGB")
    finally:
        document.close()
    w, h = image.size
    for box in ((0.40, 0.60, 0.62, 0.88), (0.70, 0.60, 0.92, 0.88)):  # the committee's, the issuer's
        pixels = image.crop((int(w * box[0]), int(h * box[1]), int(w * box[2]), int(h * box[3]))).tobytes()
        red = sum(1 for i in range(0, len(pixels), 3) if pixels[i] > 180 and pixels[i + 1] < 90 and pixels[i + 2] < 90)
        assert red > 150, (box, red)
    duplex = client.get(f"/api/v1/batches/{done['id']}/print?duplex=true&manifest=false", headers=auth(keys["staff"]))
    assert len(page_texts(duplex.content)) == 6
    missing = client.get("/api/v1/batches/0000000000000000/print", headers=auth(keys["staff"]))
    assert missing.status_code == 404
    assert printed.content.startswith(b"%PDF-")


def test_sections_the_profile_names_start_on_a_recto_when_duplex(tmp_path, settings, renderer):
    from service.forms.spec import render_form
    from service.profiles.load import load_profile

    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, folder)
    path = folder / "hubei.toml"
    path.write_text(path.read_text("utf-8") + '\n[printing]\nrecto_sections = ["work", "opinions"]\n', "utf-8")
    spec = all_forms()["review-form"]

    def first_pages(profile) -> list[int]:
        d = spec.validate(load_contract("declaration.json"), settings.with_profile(profile).limits)
        ctx = RenderContext(settings.fonts_dir, profile=profile, duplex=True)
        pages = page_texts(render_form(renderer, spec, d, ctx))
        return [next(i for i, page in enumerate(pages) if h in page) for h in ("、工作经历", "审核与评审意见")]

    assert first_pages(load_profile("hubei", PROFILES_DIR))[0] % 2 == 1  # on a verso without the rule
    assert all(page % 2 == 0 for page in first_pages(load_profile("hubei", folder)))  # 0-based even: rectos


@pytest.mark.parametrize("in_object_stream", [False, True], ids=["at-offsets", "in-an-object-stream"])
def test_copied_objects_keep_their_strings_and_find_their_references(tmp_path, in_object_stream):
    """Objects copied as written (service.documents.assemble): a string that reads like a
    reference, a name ending in digits, a hex string and a string of nested parentheses
    (parsed instead) all come out as they went in, every reference to its copy."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter(stream_xrefs=in_object_stream)
    stream = writer.prepare_object_stream() if in_object_stream else None
    content = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (x) Tj ET"))
    target = writer.add_object(generic.DictionaryObject({"/Kind": generic.NameObject("/Target")}), obj_stream=stream)
    tricky = generic.DictionaryObject(
        {
            "/Looks": generic.TextStringObject("5 0 R and (1 0 R)"),
            "/F1": target,
            "/Hex": generic.ByteStringObject(b"\x00\x01 0 R"),
            "/Nested": generic.TextStringObject("a (b) c"),
            "/Array": generic.ArrayObject([generic.NumberObject(7), generic.NumberObject(0), target]),
        }
    )
    tricky_ref = writer.add_object(tricky, obj_stream=stream)
    resources = generic.DictionaryObject({"/Tricky": tricky_ref})
    writer.insert_page(PageObject(content, (0, 0, 595, 842), resources=resources))
    source = BytesIO()
    writer.write(source)
    out = tmp_path / "run.pdf"
    done = assemble(iter([Part("a", source.getvalue()), Part("b", source.getvalue())]), out, day=date(2024, 12, 30))
    assert done.pages == 2
    checked = subprocess.run(["qpdf", "--check", str(out)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    reader = PdfFileReader(BytesIO(out.read_bytes()))
    seen = set()
    for index in range(2):
        page, _ = reader.find_page_for_modification(index)
        copied = page.get_object()["/Resources"]["/Tricky"]
        assert copied["/Looks"] == "5 0 R and (1 0 R)"
        assert copied["/Nested"] == "a (b) c"
        assert bytes(copied["/Hex"]) == b"\x00\x01 0 R"
        assert copied["/F1"]["/Kind"] == "/Target"
        assert [int(v) for v in list(copied["/Array"])[:2]] == [7, 0] and copied["/Array"][2]["/Kind"] == "/Target"
        seen.add(copied.raw_get("/F1").idnum)
    assert len(seen) == 2  # each part has its own copy


def handwritten_pdf(objects: list[bytes]) -> bytes:
    """A PDF of these object bodies (object 1 the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def first_page_of_run(tmp_path, pdf: bytes):
    """``pdf`` assembled alone, checked by qpdf; → its first page as pyHanko reads it back."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    out = tmp_path / "run.pdf"
    assemble(iter([Part("a", pdf)]), out, day=date(2024, 12, 30))
    assert subprocess.run(["qpdf", "--check", str(out)], capture_output=True).returncode == 0
    page, _ = PdfFileReader(BytesIO(out.read_bytes())).find_page_for_modification(0)
    return page.get_object()


def test_streams_are_copied_byte_for_byte_by_their_length(tmp_path):
    """A stream whose /Length is a reference and one after CR LF arrive with their data intact."""
    pdf = handwritten_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 6 0 R] >>",
            b"<< /Length 5 0 R >>\nstream\nq 1 0 0 1 0 0 cm Q\nendstream",
            b"18",
            b"<< /Length 5 >>\r\nstream\r\nBT ET\r\nendstream",
        ]
    )
    contents = [stream.get_object().data for stream in first_page_of_run(tmp_path, pdf)["/Contents"]]
    assert contents == [b"q 1 0 0 1 0 0 cm Q", b"BT ET"]


def test_a_string_of_unescaped_nested_parentheses_is_copied_whole(tmp_path):
    pdf = handwritten_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources 5 0 R >>",
            b"<< /Length 5 >>\nstream\nBT ET\nendstream",
            b"<< /Note (a (1 0 R) b) /Near 6 0 R /Names[(x)6 0 R] >>",
            b"<< /Kind /Target >>",
        ]
    )
    resources = first_page_of_run(tmp_path, pdf)["/Resources"]
    assert resources["/Note"] == "a (1 0 R) b"
    assert resources["/Near"]["/Kind"] == "/Target" and resources["/Names"][1]["/Kind"] == "/Target"
