"""The staff page in a real Chromium: sign in with a staff key, see what waits for seals,
seal a committee's certificates, watch the progress to the end, download the archive.
Screenshots under tests/artifacts/browser/."""

from __future__ import annotations

import io
import json
import re
import zipfile

import httpx
import pytest

from tests.batch_helpers import pending_certificates
from tests.served import serve
from tests.test_browser import ARTIFACTS, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def service(tmp_path):
    served = serve(tmp_path, env={"ZC_BATCH_CHUNK": "3", "ZC_ORGS_CHECK_SECONDS": "1", "ZC_SEAL_LEVEL": "B-T"})
    served.keys = {role: served.key(role) for role in ("platform", "staff")}
    yield served
    served.stop()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"staff-{name}.png"), full_page=True)


def test_staff_seal_a_committees_pending_certificates_in_the_browser(service, browser):  # noqa: F811
    numbers = pending_certificates(service, service.keys, 24, "STAFF")
    assert service.cli("orgs", "update", "--code", "430001", "--dev-key").returncode == 0
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: problems.append(r.url) if not r.url.startswith(service.url) else None)
    try:
        # Not signed in: to the sign-in page; a wrong key is refused.
        page.goto(f"{service.url}/staff/batches")
        assert page.url.endswith("/staff/login")
        page.fill("#key-input", service.keys["platform"])
        page.click("#login-form button")
        assert "不是工作人员" in page.inner_text("#error")
        problems.clear()  # the browser reports the refused sign-in's 401 itself
        page.fill("#key-input", service.keys["staff"])
        page.click("#login-form button")
        page.wait_for_url(re.compile(r".*/staff/batches$"))
        cookie = next(c for c in context.cookies() if c["name"] == "zc_staff")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff"
        row = page.locator("#pending tbody tr", has_text="430001")
        assert "24" in row.inner_text()
        shot(page, "pending")
        row.locator("button").click()
        page.wait_for_url(re.compile(r".*/staff/batches/[0-9a-f]+$"))
        # The page follows the job by itself (its script, under its own CSP): no reload.
        page.wait_for_selector("#state[data-state='done']", timeout=120_000)
        assert page.inner_text("#done") == "24" and page.inner_text("#failed") == "0"
        assert page.get_attribute("#bar", "value") == page.get_attribute("#bar", "max") == "24"
        shot(page, "done")
        job_id = page.url.rsplit("/", 1)[1]
        with page.expect_download() as download:
            page.click("#archive-link")
        with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        assert sorted(c["number"] for c in manifest["certificates"]) == sorted(numbers)
        # Back on the list: nothing waits any more, and the job is there.
        page.goto(f"{service.url}/staff/batches")
        assert page.locator("#nothing-pending").is_visible()
        assert job_id in page.inner_text("#jobs")
        shot(page, "list")
    finally:
        context.close()
    assert problems == []


def test_staff_forms_need_the_session_and_its_csrf_token(service):
    anonymous = httpx.post(f"{service.url}/staff/batches", data={"committee": "430001"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/staff/login"
    with httpx.Client(base_url=service.url) as client:
        form = client.get("/staff/login")
        login_token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        signed_in = client.post(
            "/staff/login", data={"key": service.keys["staff"], "csrf": login_token}, follow_redirects=False
        )
        assert signed_in.status_code == 303
        page = client.get("/staff/batches")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        forged = client.post("/staff/batches", data={"committee": "430001", "csrf": "guess"}, follow_redirects=False)
        assert forged.status_code == 403 and "表单已过期" in forged.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        started = client.post(
            "/staff/batches", data={"numbers": "9430000000000000000", "csrf": token}, follow_redirects=False
        )
        assert started.status_code == 303 and "/staff/batches/" in started.headers["location"]
