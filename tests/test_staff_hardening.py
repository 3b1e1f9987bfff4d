"""The staff pages against forged forms: refusals are 403 pages (not server errors), the
sign-in form has its own CSRF token and checks the Origin, and the session cookie is
Secure whenever the browser reached the service over TLS, through a trusted proxy too."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import make_key

TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("staff") / "data",
        seal_level="B-T",
        trusted_proxies=("10.0.0.0/8",),
        public_base_url="https://zc.example.gov.cn",
    )
    app = create_app(settings)
    with (
        TestClient(app, client=("10.0.0.5", 40000)) as proxied,
        TestClient(app, base_url="http://testserver", client=("192.0.2.7", 40000)) as direct,
    ):
        yield settings, proxied, direct


def _signed_in(client, key: str, headers: dict | None = None):
    client.cookies.clear()
    form = client.get("/staff/login", headers=headers or {})
    token = TOKEN.search(form.text).group(1)
    return client.post("/staff/login", data={"key": key, "csrf": token}, headers=headers or {}, follow_redirects=False)


def test_signing_in_needs_the_forms_own_token(env):
    settings, _, client = env
    key = make_key(settings, "staff")
    client.cookies.clear()
    without = client.post("/staff/login", data={"key": key}, follow_redirects=False)
    assert without.status_code == 403 and "zc_staff=" not in without.headers.get("set-cookie", "")
    assert "表单已过期" in without.text and 'id="refused"' in without.text
    client.get("/staff/login")
    guessed = client.post("/staff/login", data={"key": key, "csrf": "guess"}, follow_redirects=False)
    assert guessed.status_code == 403
    assert _signed_in(client, key).status_code == 303


def test_a_sign_in_posted_from_another_site_is_refused(env):
    """A hostile page would sign the visitor into the attacker's session: the browser says
    where the form came from, and that is not here."""
    settings, _, client = env
    key = make_key(settings, "staff")
    client.cookies.clear()
    token = TOKEN.search(client.get("/staff/login").text).group(1)
    foreign = client.post(
        "/staff/login",
        data={"key": key, "csrf": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403 and "其他网站" in foreign.text
    assert "zc_staff=" not in foreign.headers.get("set-cookie", "")
    own = client.post(
        "/staff/login",
        data={"key": key, "csrf": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert own.status_code == 303


def test_forged_staff_forms_are_403_pages_not_server_errors(env):
    settings, _, client = env
    assert _signed_in(client, make_key(settings, "staff")).status_code == 303
    page = client.get("/staff/batches")
    token = TOKEN.search(page.text).group(1)
    for data, headers in [
        ({"committee": "1"}, {}),
        ({"committee": "1", "csrf": "stale"}, {}),
        ({"committee": "1", "csrf": token}, {"Origin": "https://evil.example"}),
    ]:
        refused = client.post("/staff/batches", data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, refused.text[:200]
        assert refused.headers["content-type"].startswith("text/html")
    logout = client.post("/staff/logout", data={"csrf": "stale"}, follow_redirects=False)
    assert logout.status_code == 403


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(env):
    settings, proxied, direct = env
    key = make_key(settings, "staff")
    tls = {"X-Forwarded-Proto": "https"}
    form = proxied.get("/staff/login", headers=tls)
    assert "secure" in form.headers["set-cookie"].lower()
    token = TOKEN.search(form.text).group(1)
    # A browser sends a Secure cookie back over TLS only: to the proxy, which passes it on.
    proxied.cookies.clear()
    over_tls = proxied.post(
        "/staff/login",
        data={"key": key, "csrf": token},
        follow_redirects=False,
        headers={**tls, "Cookie": f"zc_staff_login={token}"},
    )
    assert over_tls.status_code == 303
    assert "secure" in over_tls.headers["set-cookie"].lower()
    plain = _signed_in(direct, key)
    assert plain.status_code == 303 and "secure" not in plain.headers["set-cookie"].lower()
    # The header from a peer that is not a trusted proxy is the client's own word: ignored.
    claimed = _signed_in(direct, key, headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in claimed.headers["set-cookie"].lower()
