"""证书查验 in a real Chromium at a phone's viewport: scan, lookup, upload.

Runs Debian's chromium through Playwright against the service started as a
real server. Screenshots are kept under tests/artifacts/browser/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest

from tests.conftest import load_contract
from tests.test_verify import alter_photo_bytes

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts" / "browser"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    port = _free_port()
    env = {**os.environ, "ZC_SEAL_LEVEL": "B-T"}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.3)
    keys = {}
    for role in ("platform", "staff"):
        out = subprocess.run(
            [sys.executable, "-m", "service", "api-keys", "create", "--role", role, "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        keys[role] = out.stdout.strip().splitlines()[-1]
    yield base, keys
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian package chromium; scripts/setup.sh --test)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    requests_elsewhere = []
    page.on(
        "request",
        lambda r: (
            requests_elsewhere.append(r.url)
            if r.url.startswith(("http:", "https:", "ws:", "wss:")) and not r.url.startswith("http://127.0.0.1")
            else None
        ),
    )
    page.on(
        "console", lambda m: requests_elsewhere.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    yield page
    context.close()
    # The pages load nothing from outside (they must work in a government intranet) and raise no error.
    assert requests_elsewhere == []


def issue(base, keys, declaration_id: str) -> tuple[dict, bytes]:
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    headers = {"Authorization": f"Bearer {keys['platform']}"}
    issued = httpx.post(f"{base}/api/v1/certificates", json=body, headers=headers, timeout=60).json()
    pdf = httpx.get(base + issued["pdf_url"], headers=headers, timeout=60).content
    return issued, pdf


def qr_url(pdf: bytes) -> str:
    import zxingcpp

    document = pdfium.PdfDocument(pdf)
    image = document[0].render(scale=200 / 72).to_pil()
    document.close()
    (result,) = zxingcpp.read_barcodes(image)
    return result.text


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_scanning_the_qr_code_opens_the_certificate_on_a_phone(server, phone):
    base, keys = server
    issued, pdf = issue(base, keys, "BROWSER-VALID")
    url = qr_url(pdf)
    assert url == issued["qr_text"] and url.startswith(issued["verification_url"] + "#ZC1:")
    response = phone.goto(url)  # the signed payload after "#" stays in the phone
    assert response.status == 200
    assert phone.inner_text("#status") == "有效"
    assert phone.inner_text("#holder-name") == "张三"
    assert phone.inner_text("#id-masked") == "420106********1525"
    assert phone.inner_text("#number") == issued["number"]
    assert phone.inner_text("#title") == "工程师"
    body = phone.inner_text("body")
    assert "湖北省人力资源和社会保障厅" in body and "验证通过" in body and "420106198905261525" not in body
    # Made for a phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert screenshot(phone, "valid").stat().st_size > 10_000
    # The file link gives the public copy of the certificate.
    file = phone.request.get(base + phone.get_attribute("#file-link", "href"))
    assert file.status == 200 and file.headers["content-type"] == "application/pdf"


def test_revoked_and_superseded_on_a_phone(server, phone):
    base, keys = server
    staff = {"Authorization": f"Bearer {keys['staff']}"}
    revoked, pdf = issue(base, keys, "BROWSER-REVOKED")
    httpx.post(
        f"{base}/api/v1/certificates/{revoked['number']}/revoke",
        json={"category": "materials_falsified", "reason": "内部记录：材料造假"},
        headers=staff,
    )
    phone.goto(qr_url(pdf))
    assert phone.inner_text("#status") == "已撤销"
    assert "申报材料弄虚作假" in phone.inner_text("main") and "内部记录" not in phone.inner_text("main")
    screenshot(phone, "revoked")

    old, old_pdf = issue(base, keys, "BROWSER-OLD")
    httpx.post(
        f"{base}/api/v1/certificates/{old['number']}/reissue", json={"reason": "补证"}, headers=staff, timeout=60
    )
    phone.goto(qr_url(old_pdf))
    assert phone.inner_text("#status") == "已换发"
    screenshot(phone, "superseded")
    phone.click("#current-version")
    assert phone.inner_text("#status") == "有效"
    assert "第 2 版" in phone.inner_text("main")


def test_lookup_form(server, phone):
    base, keys = server
    issued, _ = issue(base, keys, "BROWSER-LOOKUP")
    phone.goto(f"{base}/verify")
    phone.fill("#number-input", issued["number"])
    phone.fill("#name-input", "张三")
    phone.click("#lookup-form button")
    assert phone.inner_text("#status") == "有效"
    screenshot(phone, "lookup-hit")
    phone.goto(f"{base}/verify")
    phone.fill("#number-input", issued["number"])
    phone.fill("#name-input", "李四")
    phone.click("#lookup-form button")
    assert phone.inner_text("#status") == "未查到匹配的证书"


def test_upload_of_a_genuine_and_an_altered_pdf(server, phone, tmp_path):
    base, keys = server
    _, pdf = issue(base, keys, "BROWSER-UPLOAD")
    genuine, altered = tmp_path / "genuine.pdf", tmp_path / "altered.pdf"
    genuine.write_bytes(pdf)
    altered.write_bytes(alter_photo_bytes(pdf))
    for path, expected in ((genuine, "真实有效"), (altered, "已被改动")):
        phone.goto(f"{base}/verify")
        phone.set_input_files("#file-input", str(path))
        phone.click("#upload-form button")
        assert expected in phone.inner_text("#verdict")
        screenshot(phone, f"upload-{path.stem}")


def test_the_api_explorer_works_offline_under_its_policy(server, phone):
    """/docs draws every operation from this service's own files: nothing from a CDN (the
    fixture fails on any request elsewhere), and no script or style the policy blocks."""
    base, _ = server
    violations = []
    phone.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = phone.goto(f"{base}/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    phone.wait_for_selector(".opblock", timeout=30_000)
    assert phone.locator(".opblock").count() >= 20
    assert "职称文书与电子证书服务" in phone.locator(".info .title").inner_text()
    screenshot(phone, "api-explorer")
    assert violations == []
