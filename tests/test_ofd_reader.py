"""The OFD twin read and drawn by a reader nobody here wrote (easyofd, from PyPI), compared
with the PDF of the same certificate: the same words in the same places, and the QR code
drawn from the twin decodes to the PDF's.

easyofd draws every text in the face it registers as 宋体 (it reads the embedded fonts
but does not use them): the test registers the twin's own TrueType face under that name,
which is what a machine with SimSun installed would do with its SimSun."""

from __future__ import annotations

import base64
import re
import subprocess
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from service import FONTS_DIR
from service.ofd.certificate import make_ofd
from tests.pdftext import squash
from tests.signing.conftest import FROZEN
from tests.test_certificate_doc import VERIFY_URL, render
from tests.test_ofd import page, pki, request_, seals  # noqa: F401 - fixtures

easyofd = pytest.importorskip("easyofd", reason="easyofd (requirements-test.lock) is not installed")


@pytest.fixture(scope="module")
def drawn(page, seals, tmp_path_factory):  # noqa: F811 - the fixture of that name
    """The twin as easyofd draws it (a PDF), and the PDF the service renders."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("宋体", str(FONTS_DIR / "ofd" / "NotoSerifSC-Regular.ttf")))
    reader = easyofd.OFD()
    reader.read(base64.b64encode(make_ofd(page, FONTS_DIR, seals, FROZEN + timedelta(hours=1))).decode())
    out = tmp_path_factory.mktemp("easyofd")
    (out / "twin.pdf").write_bytes(reader.to_pdf())
    reader.del_data()
    return out / "twin.pdf"


def _words(pdf) -> dict[str, tuple[float, float]]:
    """Each word of the text layer and its top-left corner, as shares of the page's width
    and height (the reader draws the A4 page at a scale of its own)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    size = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', html)
    assert size is not None
    width, height = float(size.group(1)), float(size.group(2))
    return {
        m.group(3): (float(m.group(1)) / width, float(m.group(2)) / height)
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]+)</word>', html)
    }


def test_the_reader_draws_the_twins_words_where_the_pdf_has_them(drawn, request_, renderer, tmp_path):  # noqa: F811
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render(renderer, request_))
    twin, ours = _words(drawn), _words(pdf)
    text = squash("".join(twin))
    for value in (request_.holder.name, request_.holder.id_number, request_.issuer.name, "专业技术资格证书"):
        assert squash(value) in text, value
    for word in (request_.holder.id_number, request_.holder.work_unit, request_.qualification.title):
        assert word in twin and word in ours, word
        (x1, y1), (x2, y2) = twin[word], ours[word]
        # within 1 % of the page across (3 mm) and 2 % down (4 mm: the readers place baselines apart)
        assert abs(x1 - x2) < 0.01 and abs(y1 - y2) < 0.02, (word, twin[word], ours[word])


def test_the_code_drawn_from_the_twin_decodes_to_the_pdfs(drawn, tmp_path):
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(drawn), str(tmp_path / "twin")], check=True)
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "twin.png"))]
    assert found == [VERIFY_URL]  # the PDF's code holds the URL alone in this fixture, as the twin's
