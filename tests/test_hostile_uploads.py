"""The hostile-input corpus, uploads: PDFs sent to the public check, each with its answer.

Encrypted, malformed, looping, too large, inflating to gigabytes, carrying links and
scripts, altered after sealing, sealed again with a key made at home. None reaches the
network, none is read whole past the limit, each gets a clear 4xx or the right verdict.
"""

from __future__ import annotations

import datetime
import io
import logging
import socket
import zlib

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from service.verification.files import check_uploaded_pdf
from tests import hostile
from tests.conftest import auth, load_contract, make_key
from tests.test_verify import append_visible_text


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hostile-uploads") / "data",
        seal_level="B-T",
        verify_rate_per_minute=6000,
        verify_burst=1000,
    )
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        issued = client.post("/api/v1/certificates", json=load_contract("certificate-request.json"), headers=auth(key))
        assert issued.status_code == 201, issued.text
        pdf = client.get(issued.json()["pdf_url"], headers=auth(key)).content
        yield client, pdf


@pytest.fixture
def no_network(monkeypatch):
    """Every outgoing network connection, refused and recorded (local Unix sockets, which
    the worker pool's fork server speaks over, still connect)."""
    attempts = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(original):
        def guarded(self, address, *args, **kwargs):
            if self.family == socket.AF_UNIX:
                return original(self, address, *args, **kwargs)
            attempts.append(address)
            raise OSError("network use in a test of uploads")

        return guarded

    monkeypatch.setattr(socket.socket, "connect", refuse(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse(connect_ex))
    return attempts


def upload(client, data):
    return client.post("/api/v1/verify/upload", files={"file": ("certificate.pdf", data, "application/pdf")})


def encrypted(pdf: bytes) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf)))
    writer.encrypt("owner", "user")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_xref(objects: list[bytes], trailer: bytes) -> bytes:
    """A PDF of ``objects`` (numbered from 1) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % start
    return bytes(out)


LOOPING_PAGES = with_xref(
    [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"], b"<< /Root 1 0 R /Size 3 >>"
)


def looping_xref() -> bytes:
    """A cross-reference section whose /Prev names itself."""
    pdf = with_xref(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"],
        b"<< /Root 1 0 R /Size 3 /Prev 0000 >>",
    )
    start = pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0]
    return pdf.replace(b"/Prev 0000", b"/Prev " + start.rjust(4, b"0"))


LOOPING_XREF = looping_xref()
SELF_REFERENCE = with_xref([b"<< /Type /Catalog /Pages 1 0 R /Extra 1 0 R >>"], b"<< /Root 1 0 R /Size 2 >>")
ACTIONS = with_xref(
    [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /Names << /JavaScript << /Names [(x) 5 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [<< /Subtype /Link /Rect [0 0 9 9] "
        b"/A << /S /URI /URI (http://127.0.0.9:9/leak) >> >>] >>",
        b"<< /S /Launch /F << /Type /Filespec /F (/etc/passwd) >> >>",
        b"<< /S /JavaScript /JS (app.launchURL('http://127.0.0.9:9/js')) >>",
    ],
    b"<< /Root 1 0 R /Size 6 >>",
)


def flate_bomb(inflated: int = 100 * 1024 * 1024) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = b"\x00" * (1024 * 1024)
    data = b"".join(compressor.compress(chunk) for _ in range(inflated // len(chunk))) + compressor.flush()
    return with_xref(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [] /Count 0 >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        ],
        b"<< /Root 1 0 R /Size 4 >>",
    )


def sealed_again_with_a_key_made_at_home(pdf: bytes) -> bytes:
    """The genuine certificate with one more seal, by a self-signed key named like the issuer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    from service.signing.keys import signer_from_pem_bytes

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "湖北省人力资源和社会保障厅")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signer_from_pem_bytes(key_pem, cert.public_bytes(serialization.Encoding.PEM), b"")
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), signers.PdfSignatureMetadata(field_name="Reseal"), signer=signer
    )
    return out.getvalue()


# name: (make the upload from the genuine certificate, status, expected verdict or message fragment)
UPLOADS = {
    "encrypted": (encrypted, 422, "已加密"),
    "cut in half": (lambda pdf: pdf[: len(pdf) // 2], 422, "不是可读取的 PDF"),
    "a header and noise": (lambda pdf: b"%PDF-1.7\n" + bytes(range(256)) * 100, 422, "不是可读取的 PDF"),
    "a page tree that contains itself": (lambda pdf: LOOPING_PAGES, 200, "not_issued_here"),
    "a cross-reference chain that loops": (lambda pdf: LOOPING_XREF, 422, "不是可读取的 PDF"),
    "an object that refers to itself": (lambda pdf: SELF_REFERENCE, 200, "not_issued_here"),
    "links, a launch action and JavaScript": (lambda pdf: ACTIONS, 200, "not_issued_here"),
    "a stream inflating to 100 MB": (lambda pdf: flate_bomb(), 422, "疑似压缩炸弹"),
    "an image, not a PDF": (lambda pdf: hostile.gif(), 422, "不是 PDF"),
    "the genuine certificate": (lambda pdf: pdf, 200, "genuine_current"),
    "an incremental update after the seals": (append_visible_text, 200, "altered"),
    "one byte changed inside the seals' range": (
        lambda pdf: pdf.replace(b"/Producer", b"/Produces", 1),
        200,
        "altered",
    ),
    # our seals and a stranger's beside them: not to be trusted; a file sealed by strangers alone is
    # not_issued_here (tests/test_verify.py, another PKI)
    "sealed again with a key made at home": (sealed_again_with_a_key_made_at_home, 200, "unknown_key"),
}


@pytest.mark.parametrize("case", list(UPLOADS))
def test_each_upload_gets_its_answer_without_touching_the_network(env, no_network, caplog, case):
    client, pdf = env
    make, status, expected = UPLOADS[case]
    data = make(pdf)
    with caplog.at_level(logging.WARNING):
        response = upload(client, data)
        # The check itself runs in a worker process: run it here too, under the same watch.
        if status == 200:
            assert check_uploaded_pdf(client.app.state.services, data).verdict == expected
    assert response.status_code == status, (response.status_code, response.text[:400])
    if status == 200:
        assert response.json()["verdict"] == expected, response.text[:400]
    else:
        hostile.assert_clear_refusal(response, status, fragment=expected)
    assert no_network == []
    assert "root:x:" not in response.text
    # An expected outcome is one log line, never a traceback.
    assert [r.getMessage()[:200] for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("multipart", [False, True], ids=["raw", "multipart"])
def test_a_200_mb_upload_is_refused_after_reading_at_most_the_limit(tmp_path, multipart):
    """Sent chunked (no length up front) to a real service, as a bare PDF or as a form's
    file: it answers 413 once past the limit, while most of the 200 MB is still unsent
    (nothing spooled to disk to the end), and its memory grows by far less."""
    from tests.served import peak_rss_mb, serve

    served = serve(tmp_path)
    try:
        host, port = served.url.removeprefix("http://").split(":")
        before = peak_rss_mb(served.process.pid)
        sent, answer = 0, b""
        kind = b"multipart/form-data; boundary=b" if multipart else b"application/pdf"
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(
                b"POST /api/v1/verify/upload HTTP/1.1\r\nHost: x\r\nContent-Type: " + kind + b"\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            if multipart:
                head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
                connection.sendall(b"%x\r\n" % len(head) + head + b"\r\n")
            chunk = b"%PDF-1.7\n".ljust(1024 * 1024, b"0")
            try:
                while sent < 200 * 1024 * 1024:
                    connection.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    sent += len(chunk)
                    connection.setblocking(False)
                    try:
                        answer = connection.recv(65536)
                    except BlockingIOError:
                        answer = b""
                    connection.setblocking(True)
                    if answer:
                        break
            except OSError:  # the service closed the connection after answering
                pass
            connection.settimeout(30)
            while b"\r\n\r\n" not in answer:
                more = connection.recv(65536)
                if not more:
                    break
                answer += more
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert b"\r\nserver:" not in answer.lower()
        assert sent < 60 * 1024 * 1024, sent  # stopped long before 200 MB
        assert peak_rss_mb(served.process.pid) - before < 100  # read at most the limit into memory
    finally:
        served.stop()


def test_a_200_mb_upload_declared_up_front_is_refused_before_reading(env):
    client, _ = env
    response = client.post(
        "/api/v1/verify/upload",
        content=b"%PDF-1.7\n",
        headers={"Content-Type": "application/pdf", "Content-Length": str(200 * 1024 * 1024)},
    )
    assert response.status_code == 413


def test_uploads_past_the_gate_are_refused_before_their_body_is_read(env):
    """ZC_UPLOAD_QUEUE uploads in progress per process: one more is a 503 at once, so that
    stalled uploads hold neither memory nor the checkers without bound."""
    client, pdf = env
    gate = client.app.state.upload_gate
    gate.inside = gate.size
    try:
        refused = upload(client, pdf)
    finally:
        gate.inside = 0
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert upload(client, pdf).json()["verdict"] == "genuine_current"
    assert gate.inside == 0


def test_a_crowd_scanning_a_new_certificate_waits_for_one_seal_check(tmp_path):
    """The first view of a certificate validates its seals once; a room scanning it at the
    same moment shares that one check instead of queueing one each."""
    from concurrent.futures import ThreadPoolExecutor

    from service.observability.metrics import WORKER_TASKS

    settings = Settings(
        data_dir=tmp_path / "data", seal_level="B-T", batch_warm=False, upload_warm=False, scan_cache_seconds=0
    )
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        issued = client.post("/api/v1/certificates", json=load_contract("certificate-request.json"), headers=auth(key))
        token = issued.json()["verification_url"].rsplit("/v/", 1)[1]
        checks = WORKER_TASKS.labels("requests", "seal_check", "ok")
        before = checks._value.get()
        with ThreadPoolExecutor(12) as crowd:
            answers = list(crowd.map(lambda _: client.get(f"/v/{token}").status_code, range(12)))
        assert answers == [200] * 12
        assert checks._value.get() - before == 1
