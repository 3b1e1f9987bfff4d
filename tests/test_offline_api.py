"""Offline verification through the service: issue, the published lists, reissue and
revoke keep payload, keys and status list consistent; the QR code scans from prints and a
phone's screen; the command-line verifier needs only the lists."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime, timedelta

import pypdfium2 as pdfium
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from service.app import create_app
from service.cli.main import main
from service.offline.check import check_offline
from service.offline.lists import KEYS_TYPE, STATUS_TYPE, verify_list
from tests.conftest import auth, load_contract, make_key


@pytest.fixture
def env(settings):
    settings = settings.model_copy(update={"seal_level": "B-T"})
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff")}
        yield client, keys


def issue(client, keys) -> dict:
    response = client.post(
        "/api/v1/certificates", json=load_contract("certificate-request.json"), headers=auth(keys["platform"])
    )
    assert response.status_code == 201, response.text
    return response.json()


def lists(client) -> tuple[dict, dict, dict]:
    keys_doc, status_doc = client.get("/.well-known/zc/keys").json(), client.get("/.well-known/zc/status").json()
    keys = verify_list(keys_doc, KEYS_TYPE).payload
    status = verify_list(status_doc, STATUS_TYPE, keys_doc["header"]["jwk"]).payload
    return keys, status, {"keys": keys_doc, "status": status_doc}


def verdict(client, text: str) -> str:
    keys, status, _ = lists(client)
    return check_offline(text, keys, status, datetime.now(UTC)).label


def test_an_issued_certificate_verifies_offline_and_its_key_is_published(env):
    client, keys = env
    issued = issue(client, keys)
    key_list, status, _ = lists(client)
    (key,) = key_list["keys"]
    assert key["org"] == "11420000011043123X" and key["role"] == "issuer" and key["alg"] == "ES256"
    assert key["invalidated_after"] is None and status["revoked"] == status["superseded"] == []
    assert datetime.fromisoformat(status["valid_until"]) - datetime.fromisoformat(status["iat"]) == timedelta(days=1)
    assert verdict(client, issued["qr_text"]) == "有效"
    # the JSON verification API says what the payload says
    token = issued["verification_url"].rsplit("/", 1)[1]
    scanned = client.get(f"/api/v1/verify/token/{token}").json()
    offline = scanned["offline_payload"]
    assert offline["kid"] == key["kid"] and offline["number"] == issued["number"] and offline["name"] == "张三"
    assert offline["issue_date"] == "2024-12-30" and "420106198905261525" not in json.dumps(scanned)


def test_reissue_and_revoke_update_the_status_list_and_the_new_payload(env):
    client, keys = env
    first = issue(client, keys)
    number, staff = first["number"], auth(keys["staff"])
    new = client.post(
        f"/api/v1/certificates/{number}/reissue",
        json={"reason": "姓名录入错误", "corrections": {"holder": {"name": "张叁"}}},
        headers=staff,
    ).json()
    assert new["offline_payload"] != first["offline_payload"]
    assert verdict(client, first["qr_text"]) == "已换发" and verdict(client, new["qr_text"]) == "有效"
    assert (
        client.post(f"/api/v1/certificates/{number}/revoke", json={"reason": "材料造假"}, headers=staff).status_code
        == 200
    )
    assert verdict(client, new["qr_text"]) == "已撤销"
    assert len(lists(client)[0]["keys"]) == 1  # the same key signed both versions


def test_the_offline_page_is_installable_and_served_with_its_own_policy(env):
    client, _ = env
    page = client.get("/verify/offline")
    assert page.status_code == 200 and 'rel="manifest"' in page.text
    jwk = json.loads(page.text.split('name="zc-list-key" content="', 1)[1].split('"', 1)[0].replace("&#34;", '"'))
    assert jwk == client.get("/.well-known/zc/keys").json()["header"]["jwk"]
    policy = page.headers["content-security-policy"]
    assert "worker-src 'self'" in policy and "manifest-src 'self'" in policy and "script-src 'self'" in policy
    assert "camera=(self)" in page.headers["permissions-policy"]
    worker = client.get("/verify/offline/sw.js")
    assert worker.headers["service-worker-allowed"] == "/verify/offline" and "caches.open" in worker.text
    assert client.get("/verify/offline/manifest.webmanifest").json()["start_url"] == "/verify/offline"
    assert client.get("/static/jsQR.js").status_code == 200


def _decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize("dpi", [300, 150])
def test_the_longer_code_scans_from_a_print_rasterised_by_pdftoppm(env, tmp_path, dpi):
    client, keys = env
    issued = issue(client, keys)
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(client.get(issued["pdf_url"], headers=auth(keys["platform"])).content)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", pdf, tmp_path / "page"], check=True)
    assert _decoded(Image.open(tmp_path / "page.png")) == [issued["qr_text"]]


def test_the_code_scans_from_a_phone_sized_screenshot(env):
    client, keys = env
    issued = issue(client, keys)
    document = pdfium.PdfDocument(client.get(issued["pdf_url"], headers=auth(keys["platform"])).content)
    try:  # the page filling a phone held sideways: 844 × 390 CSS pixels at 3 device pixels each
        image = document[0].render(scale=844 * 3 / document[0].get_width()).to_pil()
    finally:
        document.close()
    shot = io.BytesIO()
    image.convert("RGB").save(shot, "JPEG", quality=80)  # screenshots pass through a lossy app or two
    assert _decoded(Image.open(shot)) == [issued["qr_text"]]


def test_the_command_line_verifies_from_the_pdf_with_the_lists_alone(env, tmp_path, capsys):
    client, keys = env
    issued = issue(client, keys)
    _, _, docs = lists(client)
    (tmp_path / "keys.json").write_text(json.dumps(docs["keys"]))
    (tmp_path / "status.json").write_text(json.dumps(docs["status"]))
    (tmp_path / "list-key.json").write_text(json.dumps(docs["keys"]["header"]["jwk"]))
    (tmp_path / "c.pdf").write_bytes(client.get(issued["pdf_url"], headers=auth(keys["platform"])).content)
    lists_args = ["--keys", str(tmp_path / "keys.json"), "--status", str(tmp_path / "status.json")]
    pinned = [*lists_args, "--list-key", str(tmp_path / "list-key.json")]
    assert main(["verify-qr", str(tmp_path / "c.pdf"), *pinned, "--id-number", "420106198905261525"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("有效") and "证件号码相符" in out
    assert main(["verify-qr", issued["qr_text"], *pinned, "--id-number", "420106198905261526"]) == 1
    tampered = issued["qr_text"][:-3] + ("A" if issued["qr_text"][-3] != "A" else "B") + issued["qr_text"][-2:]
    assert main(["verify-qr", tampered, *lists_args]) == 1
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    capsys.readouterr()
    assert main(["verify-qr", issued["qr_text"], *lists_args, "--at", later, "--json"]) == 5
    stale = json.loads(capsys.readouterr().out)
    assert stale["label"] == "状态列表已过期，请联网更新" and stale["facts"]["number"] == issued["number"]
    assert main(["verify-qr", issued["qr_text"], "--keys", str(tmp_path / "nothing.json")]) == 2
