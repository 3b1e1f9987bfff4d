"""The offline verifier (/verify/offline) in a real Chromium at a phone's viewport, the
network cut after the first load: its page, code and lists come from its service worker."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.test_browser import browser, issue, phone, screenshot, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def check(page, text: str) -> str:
    page.fill("#code", text)
    page.click("#check")
    page.wait_for_function("() => document.getElementById('verdict').dataset.verdict !== undefined")
    verdict = page.inner_text("#verdict")
    page.evaluate("delete document.getElementById('verdict').dataset.verdict")
    return verdict


def lists_ready(page) -> None:
    page.wait_for_function("() => document.getElementById('lists').dataset.ready === 'yes'", timeout=15000)


def test_offline_genuine_tampered_revoked_and_a_stale_list(server, phone):  # noqa: F811
    base, keys = server
    issued, _ = issue(base, keys, "OFFLINE-1")
    page = phone
    page.goto(f"{base}/verify/offline")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    lists_ready(page)
    page.context.set_offline(True)
    page.reload()  # the page and its code from the service worker's cache
    lists_ready(page)
    assert "分钟前" in page.inner_text("#lists")  # how old the lists are

    assert check(page, issued["qr_text"]) == "有效"
    assert "张三" in page.inner_text("#facts") and issued["number"] in page.inner_text("#facts")
    screenshot(page, "offline-valid")
    text = issued["qr_text"]
    i = len(text) - 10
    tampered = text[:i] + ("B" if text[i] != "B" else "C") + text[i + 1 :]
    assert check(page, tampered) == "无效"

    staff = {"Authorization": f"Bearer {keys['staff']}"}
    revoked = httpx.post(
        f"{base}/api/v1/certificates/{issued['number']}/revoke", json={"reason": "测试"}, headers=staff
    )
    assert revoked.status_code == 200
    assert check(page, issued["qr_text"]) == "有效"  # the list kept offline does not know yet
    page.context.set_offline(False)
    page.click("#refresh")
    page.wait_for_timeout(500)
    lists_ready(page)
    page.context.set_offline(True)
    assert check(page, issued["qr_text"]) == "已撤销"

    page.clock.set_fixed_time(datetime.now() + timedelta(days=2))
    assert check(page, issued["qr_text"]) == "状态列表已过期，请联网更新"
    screenshot(page, "offline-stale")
