"""Rendering reads nothing but the template and font folders, and prints input as text."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from service import FONTS_DIR
from service.config import Limits, Settings
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.documents.fetcher import ResourceRefused, SafeURLFetcher
from service.documents.render import PdfOptions, Renderer
from service.forms.review_form import SPEC
from service.forms.spec import RenderContext, midnight, render_form
from tests.pdftext import image_count, pdf_text

SETTINGS = Settings()
SECRET = "root:x:0:0"  # what /etc/passwd would put into a PDF


@pytest.fixture
def fetcher() -> SafeURLFetcher:
    return SafeURLFetcher([SETTINGS.templates_dir, SETTINGS.fonts_dir])


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/style.css",
        "ftp://example.com/x.png",
        "gopher://localhost:6379/_INFO",
        f"{SETTINGS.templates_dir.as_uri()}/forms/../../../../../etc/passwd",
        f"{SETTINGS.templates_dir.as_uri()}/forms/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "file://evil.example.com/etc/passwd",
        f"{SETTINGS.templates_dir.as_uri()}/forms/no-such-file.css",
    ],
)
def test_fetcher_refuses_everything_outside_the_folders(fetcher, url):
    with pytest.raises(ResourceRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_refuses_a_symlink_leading_outside(tmp_path):
    root = tmp_path / "templates"
    root.mkdir()
    (root / "link.css").symlink_to("/etc/passwd")
    fetcher = SafeURLFetcher([root])
    with pytest.raises(ResourceRefused):
        fetcher.fetch((root / "link.css").as_uri())


def test_fetcher_serves_template_files_and_data_urls(fetcher):
    css = fetcher.fetch((SETTINGS.templates_dir / "forms" / "common.css").as_uri())
    assert b"@page" in css.read()
    data = fetcher.fetch("data:text/plain;base64,5Lit5paH")
    assert data.read() == "中文".encode()


@pytest.fixture
def hostile_templates(tmp_path) -> Path:
    """A copy of the templates plus one that asks for forbidden resources every way HTML/CSS can."""
    root = tmp_path / "templates"
    shutil.copytree(SETTINGS.templates_dir, root)
    (root / "hostile.html").write_text(
        """<!DOCTYPE html><html lang="zh-CN"><head>
<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/style.css">
<link rel="stylesheet" href="file:///etc/passwd">
<style>
@import url("../../../../../../etc/passwd");
@font-face { font-family: Evil; src: url(/etc/ssl/certs/ca-certificates.crt); }
body { background: url(http://169.254.169.254/bg.png); font-family: Evil, serif; }
</style></head><body>
<p>正文</p>
<img src="file:///etc/passwd">
<img src="/etc/hostname">
<img src="../../../../../../etc/passwd">
<img src="http://169.254.169.254/latest/meta-data/iam.png">
<iframe src="file:///etc/passwd"></iframe>
<object data="file:///etc/passwd"></object>
<a href="file:///etc/passwd">链接</a>
</body></html>""",
        "utf-8",
    )
    return root


def test_a_hostile_template_gets_nothing_from_outside(hostile_templates):
    renderer = Renderer(hostile_templates, SETTINGS.fonts_dir)
    pdf = renderer.render_pdf("hostile.html", {}, PdfOptions(date=midnight(SETTINGS.document_date or _day())))
    refused = renderer.fetcher.refused
    for expected in (
        "http://169.254.169.254/latest/meta-data/style.css",
        "file:///etc/passwd",
        "file:///etc/hostname",
        "http://169.254.169.254/latest/meta-data/iam.png",
        "http://169.254.169.254/bg.png",
        "file:///etc/ssl/certs/ca-certificates.crt",
    ):
        assert expected in refused, expected
    assert "file:///etc/passwd" in refused
    assert SECRET not in pdf_text(pdf)
    assert b"root:x:0" not in pdf
    assert image_count(pdf, 1) == 0
    assert "正文" in pdf_text(pdf)


def _day():
    from datetime import date

    return date(2024, 1, 1)


def render_with_name(renderer, declaration, name: str) -> bytes:
    declaration["applicant"]["name"] = name
    declaration["work_summary"] = f"总结里也有：{name}"
    payload = validate_payload(Declaration, declaration, Limits())
    renderer.fetcher.reset()
    return render_form(renderer, SPEC, payload, RenderContext(FONTS_DIR))


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "{{ 7*7 }}",
        "{% print 7*7 %}",
        '<img src="file:///etc/passwd">',
        "<link rel=stylesheet href=//169.254.169.254>",
        "</td></tr></table><h1>假标题</h1>",
    ],
)
def test_markup_and_template_syntax_in_input_print_as_plain_text(renderer, declaration, name):
    baseline = pdf_text(render_with_name(renderer, copy.deepcopy(declaration), "张三"))
    pdf = render_with_name(renderer, declaration, name)
    text = pdf_text(pdf)
    squashed = "".join(name.split())
    assert "姓名" + squashed in text  # the cover prints the name verbatim
    assert "总结里也有：" + squashed in text
    assert renderer.fetcher.refused == []  # nothing in the input was fetched
    assert text.count("49") == baseline.count("49")  # {{ 7*7 }} was not evaluated
    assert image_count(pdf, 2) == 1  # only the photo: no <img> from the input


def test_paths_inside_the_payload_are_never_read(renderer, declaration):
    declaration["attachments"][0]["name"] = "/etc/passwd"
    declaration["attachments"][1]["name"] = "../../../../etc/passwd"
    pdf = render_form(renderer, SPEC, validate_payload(Declaration, declaration, Limits()), RenderContext(FONTS_DIR))
    text = pdf_text(pdf)
    assert "/etc/passwd" in text and "../../../../etc/passwd" in text
    assert SECRET not in text


def test_template_stylesheets_are_parsed_once_and_read_again_when_changed(tmp_path, monkeypatch):
    import os

    import weasyprint

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text(
        '<html><head><link rel="stylesheet" href="a.css"><link rel="stylesheet" href="b.css"></head>'
        "<body><p>正文</p></body></html>",
        "utf-8",
    )
    (templates / "a.css").write_text("p { color: red; font-size: 30pt; }", "utf-8")
    (templates / "b.css").write_text("p { color: blue; }", "utf-8")  # later link wins, as in a browser
    parsed = []
    real = weasyprint.CSS
    monkeypatch.setattr(weasyprint, "CSS", lambda *a, **k: parsed.append(k.get("url")) or real(*a, **k))
    renderer = Renderer(templates, SETTINGS.fonts_dir)
    options = PdfOptions(date=midnight(_day()))
    first = renderer.render_pdf("page.html", {}, options)
    assert renderer.render_pdf("page.html", {}, options) == first
    assert [Path(url).name for url in parsed] == ["a.css", "b.css"]  # once each, in link order
    assert b"0 0 1 rg" in _content(first) and b"1 0 0 rg" not in _content(first)  # blue: b.css came last

    (templates / "b.css").write_text("p { color: lime; }", "utf-8")
    stat = (templates / "b.css").stat()
    os.utime(templates / "b.css", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = renderer.render_pdf("page.html", {}, options)
    assert b"0 1 0 rg" in _content(changed) and [Path(url).name for url in parsed][-1] == "b.css"


def _content(pdf: bytes) -> bytes:
    """The PDF's decompressed content streams, where fill colours are set (``r g b rg``)."""
    import re
    import zlib

    out = b""
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out += zlib.decompress(stream)
        except zlib.error:
            pass
    return out
