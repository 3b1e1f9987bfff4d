"""The serving model under many callers, from outside: a real service process, real
threads of clients. pdfium from many threads, the scan cache beside revocations, CPU work
off the event loop, admission and budgets, memory given back, rate limits behind proxies."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import load_contract
from tests.pdfbuild import handmade_pdf
from tests.served import serve


def publicity(rows: int, unit: str = "某某化工有限公司") -> dict:
    payload = load_contract("publicity-pre-review.json")
    template = payload["rows"][0]
    payload["rows"] = [{**template, "name": f"申报人{i:05d}", "unit": unit} for i in range(rows)]
    return payload


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    served = serve(
        tmp_path_factory.mktemp("serving"),
        env={
            "ZC_VERIFY_BURST": "1000",
            "ZC_VERIFY_RATE_PER_MINUTE": "60000",
            "ZC_SCAN_CACHE_SECONDS": "1",
            "ZC_WORK_PROCESSES": "2",
        },
    )
    served.keys = {role: served.key(role) for role in ("platform", "staff")}
    yield served
    served.stop()


def headers(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def issue(service, declaration_id: str) -> dict:
    request = load_contract("certificate-request.json")
    request["declaration_id"] = declaration_id
    response = httpx.post(
        f"{service.url}/api/v1/certificates", json=request, headers=headers(service.keys["platform"]), timeout=120
    )
    assert response.status_code == 201, response.text
    return response.json()


# --- pdfium from many threads ------------------------------------------------------------


def test_parallel_previews_and_uploads_are_all_answered_right(service):
    issued = issue(service, "PDFIUM-1")
    pdf = httpx.get(service.url + issued["pdf_url"], headers=headers(service.keys["platform"]), timeout=60).content
    declaration = load_contract("declaration.json")
    url = f"{service.url}/api/v1/forms/review-form?format=png&page=1"
    first = httpx.post(url, json=declaration, headers=headers(service.keys["platform"]), timeout=120)
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")

    def preview(_):
        return httpx.post(url, json=declaration, headers=headers(service.keys["platform"]), timeout=300)

    def upload(_):
        return httpx.post(
            f"{service.url}/api/v1/verify/upload", content=pdf, headers={"Content-Type": "application/pdf"}, timeout=300
        )

    with ThreadPoolExecutor(40) as pool:
        previews = [pool.submit(preview, i) for i in range(20)]
        uploads = [pool.submit(upload, i) for i in range(20)]
        previews, uploads = [f.result() for f in previews], [f.result() for f in uploads]
    # The queue is 16 deep per process: a preview beyond it is refused at once, never a 5xx.
    assert all(r.status_code in (200, 503) for r in previews), [r.status_code for r in previews]
    done = [r for r in previews if r.status_code == 200]
    assert len(done) >= 18 and all(r.content == first.content for r in done)
    # Uploads beyond the gate (ZC_UPLOAD_QUEUE, 8 per process) are refused at once with a
    # 503 that says when to retry; every one let in is checked right.
    assert all(r.status_code in (200, 503) for r in uploads), [
        r.text for r in uploads if r.status_code not in (200, 503)
    ]
    checked = [r for r in uploads if r.status_code == 200]
    assert len(checked) >= 8
    assert all(r.headers.get("Retry-After") for r in uploads if r.status_code == 503)
    assert {r.json()["verdict"] for r in checked} == {"genuine_current"}
    assert service.process.poll() is None
    assert httpx.get(f"{service.url}/healthz", timeout=5).json()["status"] == "ok"


# --- the scan cache and revocation -------------------------------------------------------


def test_revocation_shows_on_a_hammered_scan_page_within_the_cache_time(service):
    issued = issue(service, "SCAN-1")
    page = service.url + "/v/" + issued["verification_url"].rsplit("/v/", 1)[1]
    stop = threading.Event()
    statuses: list[int] = []

    def hammer():
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                statuses.append(client.get(page).status_code)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        revoked = httpx.post(
            f"{service.url}/api/v1/certificates/{issued['number']}/revoke",
            json={"reason": "材料造假"},
            headers=headers(service.keys["staff"]),
            timeout=30,
        )
        assert revoked.status_code == 200
        revoked_at = time.monotonic()
        while "已撤销" not in httpx.get(page, timeout=30).text:
            assert time.monotonic() - revoked_at < 1 + 1.5, "the revocation did not show within the cache time"
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert statuses and set(statuses) == {200}
    assert "Traceback" not in service.log


# --- CPU work off the event loop ----------------------------------------------------------


def xlsx(rows: int, headings: list[str]) -> bytes:
    """A plain .xlsx with ``rows`` data rows, written directly (openpyxl would take minutes)."""

    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    letters = "ABCDEFGHIJ"
    body = ['<row r="1">' + "".join(cell(f"{letters[i]}1", h) for i, h in enumerate(headings)) + "</row>"]
    row_cells = "".join(
        cell(f"{letters[i]}{{n}}", v) for i, v in enumerate(["张三", "男", "某某公司"][: len(headings)])
    )
    body += [f'<row r="{n}">{row_cells.replace("{n}", str(n))}</row>' for n in range(2, rows + 2)]
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>' + "".join(body) + "</sheetData></worksheet>"
    )
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_a_huge_spreadsheet_is_answered_from_its_first_rows_and_stalls_nobody(service):
    meta = json.dumps({k: v for k, v in load_contract("publicity-pre-review.json").items() if k != "rows"})
    result_meta = json.dumps({k: v for k, v in load_contract("publicity-result.json").items() if k != "rows"})
    missing_column = xlsx(9_000, ["姓名", "性别", "单位"])  # a results list without its 评审结果 column
    too_long = xlsx(400_000, ["姓名", "性别", "单位"])  # the limit is 10,000 rows
    url = f"{service.url}/api/v1/forms/publicity"
    health_times: list[float] = []
    stop = threading.Event()

    def watch_health():
        while not stop.is_set():
            started = time.monotonic()
            httpx.get(f"{service.url}/healthz", timeout=30)
            health_times.append(time.monotonic() - started)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        started = time.monotonic()
        response = httpx.post(
            url,
            files={"file": ("list.xlsx", missing_column)},
            data={"meta": result_meta},
            headers=headers(service.keys["staff"]),
            timeout=120,
        )
        missing_seconds = time.monotonic() - started
        assert response.status_code == 422, response.text
        assert "评审结果" in response.json()["message"]
        response = httpx.post(
            url,
            files={"file": ("list.xlsx", too_long)},
            data={"meta": meta},
            headers=headers(service.keys["staff"]),
            timeout=120,
        )
        too_long_seconds = time.monotonic() - started - missing_seconds
        assert response.status_code == 413 and "10000" in response.json()["message"]
    finally:
        stop.set()
        watcher.join()
    # Counted as the sheet inflates, not parsed; the bounds leave room for this machine's drift.
    assert missing_seconds < 10, f"the missing column took {missing_seconds:.1f} s to report"
    assert too_long_seconds < 5, f"400,000 rows took {too_long_seconds:.1f} s to refuse"
    assert max(health_times) < 1.0, max(health_times)


# --- admission, budgets, memory ---------------------------------------------------------------


@pytest.fixture
def small_service(tmp_path):
    served = serve(
        tmp_path,
        env={
            "ZC_WORK_PROCESSES": "1",
            "ZC_WORK_QUEUE": "4",
            "ZC_RENDER_TIMEOUT_SECONDS": "60",
            "ZC_WORKER_MAX_RSS_MB": "300",
        },
    )
    served.keys = {"staff": served.key("staff"), "platform": served.key("platform")}
    yield served
    served.stop()


def test_a_full_queue_is_refused_at_once_while_health_stays_fast(small_service):
    service = small_service
    big = publicity(10_000)
    url = f"{service.url}/api/v1/forms/publicity"
    with ThreadPoolExecutor(40) as pool:

        def render_big():
            began = time.monotonic()
            response = httpx.post(url, json=big, headers=headers(service.keys["staff"]), timeout=300)
            return response, time.monotonic() - began

        long_render = pool.submit(render_big)
        time.sleep(1.5)  # the big one is laying out in the only worker
        started = time.monotonic()
        health = httpx.get(f"{service.url}/healthz", timeout=30)
        assert health.status_code == 200 and time.monotonic() - started < 1.0
        small = publicity(3)
        # One client with a connection for each caller: the time measured is the service's,
        # not that of 29 clients being built at once on a two-core machine.
        limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
        with httpx.Client(limits=limits, timeout=300, headers=headers(service.keys["staff"])) as client:

            def preview(_):
                began = time.monotonic()
                response = client.post(url + "?format=png", json=small)
                return response, time.monotonic() - began

            answers = list(pool.map(preview, range(29)))
        long_response, long_seconds = long_render.result()
        assert long_response.status_code == 200
    refused = [(r, s) for r, s in answers if r.status_code == 503]
    served_ok = [r for r, _ in answers if r.status_code == 200]
    assert len(served_ok) == 4 and len(refused) == 25, sorted(r.status_code for r, _ in answers)
    # At once: within a few seconds (this machine's speed drifts) while the big render, which
    # they would otherwise wait for, goes on well after them.
    assert all(r.headers["Retry-After"] and s < 3.0 for r, s in refused), sorted(round(s, 2) for _, s in refused)
    assert long_seconds > 2 * max(s for _, s in refused), long_seconds
    assert all("繁忙" in r.json()["message"] for r, _ in refused)


def test_memory_goes_back_after_a_big_document(small_service):
    service = small_service
    url = f"{service.url}/api/v1/forms/publicity"
    assert httpx.post(url, json=publicity(20), headers=headers(service.keys["staff"]), timeout=120).status_code == 200
    before = service.tree_rss_mb()
    response = httpx.post(url, json=publicity(10_000), headers=headers(service.keys["staff"]), timeout=300)
    assert response.status_code == 200 and int(response.headers["X-Page-Count"]) > 100
    time.sleep(0.5)
    after = service.tree_rss_mb()
    assert after < before + 100, (before, after)
    assert "replacing it to return the memory" in service.log
    # and the next document is made by a fresh worker
    assert httpx.post(url, json=publicity(20), headers=headers(service.keys["staff"]), timeout=120).status_code == 200


def test_page_budget_is_a_413_naming_the_limit(tmp_path):
    service = serve(tmp_path, env={"ZC_WORK_PROCESSES": "1", "ZC_LIMIT_MAX_PAGES": "50"})
    try:
        response = httpx.post(
            f"{service.url}/api/v1/forms/publicity",
            json=publicity(3_000),
            headers=headers(service.key("staff")),
            timeout=300,
        )
    finally:
        service.stop()
    assert response.status_code == 413, response.text[:300]
    assert "50" in response.json()["message"] and "ZC_LIMIT_MAX_PAGES" in response.json()["message"]


def test_time_budget_stops_the_render_and_the_worker_recovers(tmp_path):
    service = serve(tmp_path, env={"ZC_WORK_PROCESSES": "1", "ZC_RENDER_TIMEOUT_SECONDS": "2"})
    try:
        key = service.key("staff")
        url = f"{service.url}/api/v1/forms/publicity"
        started = time.monotonic()
        response = httpx.post(url, json=publicity(10_000), headers=headers(key), timeout=120)
        assert response.status_code == 504 and "超时" in response.json()["message"]
        assert time.monotonic() - started < 10
        assert httpx.post(url, json=publicity(5), headers=headers(key), timeout=60).status_code == 200
    finally:
        service.stop()


def test_serve_starts_one_process_per_core_by_default():
    import os

    from service.cli.main import build_parser

    assert build_parser().parse_args(["serve"]).workers == os.cpu_count()


# --- rate limits behind proxies ---------------------------------------------------------------


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_addresses_count_only_from_trusted_proxies(tmp_path, trusted):
    env = {"ZC_VERIFY_BURST": "10", "ZC_VERIFY_RATE_PER_MINUTE": "1"}
    if trusted:
        env["ZC_TRUSTED_PROXIES"] = '["127.0.0.1/32"]'
    service = serve(tmp_path, env=env)
    try:
        lookup = {"number": "9420000000000000000", "name": "张三"}
        codes = [
            httpx.post(
                f"{service.url}/api/v1/verify/lookup",
                json=lookup,
                timeout=30,
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(40)
        ]
    finally:
        service.stop()
    if trusted:  # each forwarded client has its own bucket
        assert codes.count(200) == 40
    else:  # the header is the client's own invention: one bucket, burst of 10
        assert codes.count(200) == 10 and codes.count(429) == 30


def test_client_address_reads_past_trusted_hops_only():
    from service.verification.ratelimit import client_address

    assert client_address("10.0.0.5", "1.2.3.4", []) == "10.0.0.5"
    assert client_address("10.0.0.5", "1.2.3.4", ["10.0.0.0/8"]) == "1.2.3.4"
    # a client that writes its own header in front of the proxy's is not believed
    assert client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address("10.0.0.5", "1.2.3.4, 10.0.0.9", ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address("198.51.100.7", "1.2.3.4", ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_address("10.0.0.5", "not-an-ip", ["10.0.0.0/8"]) == "not-an-ip"


def redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis is not reachable at {url} ({type(exc).__name__})")
    return url


@pytest.mark.redis
def test_the_redis_limit_holds_across_processes():
    import uuid

    from service.verification.ratelimit import RedisRateLimiter

    url = redis_url()
    prefix = f"zc:test:{uuid.uuid4().hex}:"
    one = RedisRateLimiter(url, rate_per_minute=1, burst=10, prefix=prefix)
    two = RedisRateLimiter(url, rate_per_minute=1, burst=10, prefix=prefix)  # another process's limiter
    allowed = [(one if i % 2 else two).take("203.0.113.9") == 0 for i in range(30)]
    assert allowed.count(True) == 10


@pytest.mark.redis
def test_served_with_two_processes_shares_one_limit(tmp_path):
    service = serve(
        tmp_path,
        "--workers",
        "2",
        env={"ZC_REDIS_URL": redis_url(), "ZC_VERIFY_BURST": "10", "ZC_VERIFY_RATE_PER_MINUTE": "1"},
    )
    try:
        lookup = {"number": "9420000000000000000", "name": "张三"}
        # a new connection each time: both processes take requests
        codes = [
            httpx.post(f"{service.url}/api/v1/verify/lookup", json=lookup, timeout=30).status_code for _ in range(30)
        ]
    finally:
        service.stop()
    assert codes.count(200) == 10 and codes.count(429) == 20


# --- uploads that inflate --------------------------------------------------------------------


def bomb_pdf(inflated_mb: int, as_attachment: bool = False) -> bytes:
    import zlib

    packer = zlib.compressobj(9)
    stream = b"".join(packer.compress(b"\0" * (1 << 20)) for _ in range(inflated_mb)) + packer.flush()
    kind = b"/Type /EmbeddedFile " if as_attachment else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< "
        + kind
        + b"/Length "
        + str(len(stream)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream",
    ]
    return handmade_pdf(objects)


@pytest.mark.parametrize("attachment", [False, True])
def test_an_upload_that_inflates_to_gigabytes_is_refused_within_bounded_memory(service, attachment):
    from tests.served import peak_rss_mb

    bomb = bomb_pdf(1024, as_attachment=attachment)
    assert len(bomb) < 4 * 1024 * 1024
    before = peak_rss_mb(service.process.pid)
    response = httpx.post(
        f"{service.url}/api/v1/verify/upload", content=bomb, headers={"Content-Type": "application/pdf"}, timeout=120
    )
    assert response.status_code == 422, response.text
    assert "压缩炸弹" in response.json()["message"]
    assert peak_rss_mb(service.process.pid) - before < 200
