"""Logs and metrics: a request's id on its answer, its error body, every log line it causes
(a worker process's too) and its audit events; /metrics guarded and moving."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.config import Settings
from service.observability.context import bound_request_id
from service.observability.logs import make_formatter
from tests.conftest import auth, load_contract, make_key
from tests.served import free_port, serve

GENERATED = re.compile(r"[0-9a-f]{32}")


# --- helpers ---------------------------------------------------------------------------


def scrape(client, key: str) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def json_lines(text: str) -> list[dict]:
    """Every line of a log, each one JSON object (a line that is not fails the test)."""
    lines = []
    for line in text.splitlines():
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"a log line that is not JSON: {line!r}")
    return lines


@pytest.fixture
def app(settings):
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff", "admin")}
        yield client, keys


# --- the log format --------------------------------------------------------------------


def _record(message: str, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("service.test", logging.ERROR, __file__, 1, message, (), exc_info)


def test_a_json_line_has_time_level_logger_message_request_id_and_exception():
    formatter = make_formatter("json")
    try:
        raise ValueError("坏了")
    except ValueError:
        import sys

        record = _record("证书 9420242024420001000001 签发失败", sys.exc_info())
    from service.observability.logs import RequestIdFilter

    with bound_request_id("req-1"):
        RequestIdFilter().filter(record)
    line = formatter.format(record)
    assert "\n" not in line  # one event, one line
    assert "证书" in line  # Chinese stays readable, not \\u escapes
    event = json.loads(line)
    assert event["level"] == "ERROR" and event["logger"] == "service.test"
    assert event["message"] == "证书 9420242024420001000001 签发失败"
    assert event["request_id"] == "req-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", event["ts"])
    assert "ValueError: 坏了" in event["exception"]

    outside = _record("no request here")
    RequestIdFilter().filter(outside)
    assert "request_id" not in json.loads(formatter.format(outside))
    assert "[-]" in make_formatter("text").format(outside)


# --- the request id on answers, error bodies and audit events -------------------------------


def test_generated_request_ids_differ_between_a_process_and_its_forked_child():
    # Ids come from the process's random generator, not the kernel: a forked worker must not
    # hand out its parent's next ids (the generator is re-seeded in the child).
    import os

    from service.observability.context import new_request_id

    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, " ".join(new_request_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        in_child = pipe.read().split()
    in_parent = [new_request_id() for _ in range(3)]
    ids = in_child + in_parent
    assert len(set(ids)) == 6 and all(GENERATED.fullmatch(i) for i in ids), ids


def test_an_incoming_request_id_is_kept_and_a_hostile_one_replaced(app):
    client, keys = app
    kept = client.get("/healthz", headers={"X-Request-ID": "platform-7.a_B"})
    assert kept.headers["x-request-id"] == "platform-7.a_B"
    for hostile in ("a" * 65, "two words", "<script>", "id;drop", "证书".encode(), ""):
        answer = client.get("/healthz", headers={"X-Request-ID": hostile})
        assert GENERATED.fullmatch(answer.headers["x-request-id"]), hostile
    fresh = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(fresh) == 3 and all(GENERATED.fullmatch(i) for i in fresh)


def test_every_error_body_names_the_request_id_of_its_header(app):
    client, keys = app
    answers = [
        client.get("/api/v1/certificates/1"),  # 401
        client.get("/api/v1/certificates/1", headers=auth(keys["staff"])),  # 403
        client.get("/nowhere"),  # 404, no route
        client.post("/api/v1/verify/lookup", json={"number": "1"}),  # 422
        client.post("/api/v1/forms/review-form", content=b"{", headers=auth(keys["platform"])),  # 422/400
        client.post("/api/v1/certificates", json={}, headers={**auth(keys["platform"]), "X-Request-ID": "mine"}),
    ]
    for answer in answers:
        assert answer.status_code >= 400
        body = answer.json()
        assert body["request_id"] == answer.headers["x-request-id"], (answer.status_code, body)
        assert body["error"] and body["message"]
    assert answers[-1].json()["request_id"] == "mine"


def test_an_unexpected_error_answers_with_the_request_id_too(settings):
    app = create_app(settings)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error" and answer.json()["request_id"] == "boom-1"
    assert answer.headers["x-request-id"] == "boom-1"


def test_the_audit_trail_of_issue_reissue_and_revoke_carries_each_request_id(app):
    client, keys = app
    issued = client.post(
        "/api/v1/certificates",
        json=load_contract("certificate-request.json"),
        headers={**auth(keys["platform"]), "X-Request-ID": "issue-1"},
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    staff = auth(keys["staff"])
    reissued = client.post(
        f"/api/v1/certificates/{number}/reissue",
        headers={**staff, "X-Request-ID": "reissue-2"},
        json={"reason": "姓名录入错误，更正", "corrections": {"holder": {"name": "张叁"}}},
    )
    assert reissued.status_code == 201, reissued.text
    revoked = client.post(
        f"/api/v1/certificates/{number}/revoke",
        json={"reason": "申报材料造假"},
        headers={**staff, "X-Request-ID": "revoke-3"},
    )
    assert revoked.status_code == 200
    events = client.get(f"/api/v1/certificates/{number}/events", headers=staff).json()
    assert [(e["action"], e["details"]["request_id"]) for e in events] == [
        ("issued", "issue-1"),
        ("superseded", "reissue-2"),
        ("reissued", "reissue-2"),
        ("revoked", "revoke-3"),
    ]


def test_the_access_log_names_routes_not_tokens_or_numbers(app, caplog):
    client, keys = app
    issued = client.post(
        "/api/v1/certificates", json=load_contract("certificate-request.json"), headers=auth(keys["platform"])
    )
    assert issued.status_code == 201, issued.text
    number, token = issued.json()["number"], issued.json()["verification_url"].rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="service.access"):
        assert client.get(f"/v/{token}").status_code == 200
        assert client.get(f"/api/v1/certificates/{number}", headers=auth(keys["platform"])).status_code == 200
        assert client.get("/no/such/page").status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "service.access"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("GET /v/{token} 200") and lines[1].startswith("GET /api/v1/certificates/{number} 200")
    assert lines[2].startswith("GET /no/such/page 404")  # no route: the path, for finding what was asked
    assert not any(token in line or number in line for line in lines)


def test_a_batch_job_keeps_the_request_ids_that_created_and_cancelled_it(app):
    client, keys = app
    staff = auth(keys["staff"])
    created = client.post(
        "/api/v1/batches",
        json={"kind": "seal", "numbers": ["9420242024420001999999"]},
        headers={**staff, "X-Request-ID": "batch-1"},
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["params"]["request_id"] == "batch-1"
    cancelled = client.post(f"/api/v1/batches/{job['id']}/cancel", headers={**staff, "X-Request-ID": "cancel-2"})
    if cancelled.status_code == 200:  # the job may have finished already: nothing to cancel then
        assert cancelled.json()["params"]["cancel_request_id"] == "cancel-2"
    else:
        assert cancelled.json()["request_id"] == "cancel-2"


# --- /metrics ---------------------------------------------------------------------------


def test_metrics_need_an_admin_key(app):
    client, keys = app
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth(keys["platform"])).status_code == 403
    assert client.get("/metrics", headers=auth(keys["staff"])).status_code == 403
    assert client.get("/metrics", headers=auth(keys["admin"])).status_code == 200


def test_the_counters_move(app, declaration):
    client, keys = app
    before = scrape(client, keys["admin"])
    platform = auth(keys["platform"])
    assert client.post("/api/v1/forms/review-form", json=declaration, headers=platform).status_code == 200
    assert client.post("/api/v1/forms/review-form", json={"applicant": 1}, headers=platform).status_code == 422
    miss = client.post("/api/v1/verify/lookup", json={"number": "9420242024420001000999", "name": "无此人"})
    assert miss.status_code == 200 and miss.json()["found"] is False
    assert client.get("/v/not-a-token-at-all").status_code == 404
    assert client.get("/no/such/path/123").status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405  # any token is a method to HTTP
    # the public page's errors are counted as the API's are
    page = client.post("/verify", data={"number": "9" * 60, "name": "张三"})
    assert page.status_code == 422 and "最多 40 个字符" in page.text
    broken = client.post("/verify", content=b"not a pdf", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 422 and "<form" in broken.text  # the page again, with the reason
    after = scrape(client, keys["admin"])

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    form = "/api/v1/forms/review-form"
    assert moved("zc_http_requests_total", route=form, method="POST", status="200") == 1
    assert moved("zc_http_requests_total", route=form, method="POST", status="422") == 1
    assert moved("zc_http_requests_total", route="/v/{token}", method="GET", status="404") == 1
    assert moved("zc_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert not any(dict(labels).get("route", "").startswith(("/no/", "/v/not")) for _, labels in after)
    assert moved("zc_http_requests_total", route="/healthz", method="other", status="405") == 1
    assert not any(dict(labels).get("method") == "BREW" for _, labels in after)
    assert moved("zc_http_request_duration_seconds_count", route=form) == 2
    assert moved("zc_renders_total", kind="review-form") == 1
    assert moved("zc_worker_tasks_total", pool="requests", task="form", outcome="ok") == 1
    assert moved("zc_errors_total", code="invalid_input") == 3  # the form's 422 and the page's two
    assert moved("zc_verification_verdicts_total", verdict="not_found", channel="lookup") == 1
    assert moved("zc_verification_verdicts_total", verdict="not_found", channel="scan") == 1
    assert ("zc_worker_queue_depth", frozenset({("pool", "requests")})) in after
    assert value(after, "zc_batch_items", state="pending") == 0  # read from the registry at scrape time
    assert ("zc_batch_jobs", frozenset({("state", "running")})) in after


def test_issuing_counts_a_certificate_render_and_its_seals(app):
    client, keys = app
    before = scrape(client, keys["admin"])
    issued = client.post(
        "/api/v1/certificates", json=load_contract("certificate-request.json"), headers=auth(keys["platform"])
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["verification_url"].rsplit("/", 1)[1]
    assert client.get(f"/api/v1/verify/token/{token}").status_code == 200
    after = scrape(client, keys["admin"])
    assert (
        value(after, "zc_renders_total", kind="certificate") - value(before, "zc_renders_total", kind="certificate")
        == 1
    )
    assert (
        value(after, "zc_seals_total", kind="certificate", outcome="sealed")
        - value(before, "zc_seals_total", kind="certificate", outcome="sealed")
    ) == 1
    assert (
        value(after, "zc_verification_verdicts_total", verdict="valid", channel="scan")
        - value(before, "zc_verification_verdicts_total", verdict="valid", channel="scan")
    ) == 1


def test_metrics_on_a_port_of_their_own(tmp_path):
    port = free_port()
    settings = Settings(data_dir=tmp_path / "data", metrics_port=port)
    with TestClient(create_app(settings)) as client:
        admin = make_key(settings, "admin")
        assert client.get("/metrics", headers=auth(admin)).status_code == 404  # not on the service's port
        assert client.get("/healthz").status_code == 200
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert scraped.status_code == 200
        samples = parse(scraped.text)
        assert value(samples, "zc_http_requests_total", route="/healthz", method="GET", status="200") >= 1
        assert ("zc_batch_items", frozenset({("state", "pending")})) in samples
    with pytest.raises(httpx.TransportError):  # closed with the service
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


# --- a served process: its log lines joined by the request id --------------------------------


def test_a_served_requests_log_lines_all_carry_its_id(tmp_path, declaration):
    served = serve(tmp_path)
    try:
        platform = {"Authorization": f"Bearer {served.key('platform')}"}
        rendered = httpx.post(f"{served.url}/api/v1/forms/review-form", json=declaration, headers=platform, timeout=120)
        assert rendered.status_code == 200
        render_id = rendered.headers["x-request-id"]
        refused = httpx.post(
            f"{served.url}/api/v1/forms/review-form",
            json={"applicant": 1},
            headers={**platform, "X-Request-ID": "client-chosen.42"},
            timeout=60,
        )
        assert refused.status_code == 422
        assert refused.headers["x-request-id"] == refused.json()["request_id"] == "client-chosen.42"
        hostile = httpx.get(f"{served.url}/healthz", headers={"X-Request-ID": "x" * 100}, timeout=10)
        hostile_id = hostile.headers["x-request-id"]
        assert GENERATED.fullmatch(hostile_id)
    finally:
        served.stop()
    events = json_lines(served.log)
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in events)

    of_render = [e for e in events if e.get("request_id") == render_id]
    access = [e for e in of_render if e["logger"] == "service.access"]
    assert len(access) == 1
    assert access[0]["route"] == "/api/v1/forms/review-form" and access[0]["status"] == 200
    assert access[0]["method"] == "POST" and access[0]["duration_ms"] > 0
    # The render happened in a worker process: its line carries the same id.
    assert any(e["logger"] == "service.workers.child" and e.get("task") == "form" for e in of_render), of_render

    of_refusal = [e for e in events if e.get("request_id") == "client-chosen.42"]
    assert [(e["logger"], e["status"]) for e in of_refusal if e["logger"] == "service.access"] == [
        ("service.access", 422)
    ]
    assert any(e.get("request_id") == hostile_id and e["logger"] == "service.access" for e in events)
    # Each access line is the request's own: no line names two requests.
    ids = [e["request_id"] for e in events if e["logger"] == "service.access"]
    assert len(ids) == len(set(ids))
    assert not any(e["logger"] == "uvicorn.access" for e in events)  # replaced by the service's own line


def test_several_served_processes_answer_one_scrape_for_all(tmp_path):
    """``serve --workers 2``: whichever process a scrape reaches, it counts every process's
    requests (prometheus_client's multiprocess files under the data dir)."""
    served = serve(tmp_path, "--workers", "2", env={"ZC_WORK_PROCESSES": "1", "ZC_BATCH_PROCESSES": "1"})
    try:
        admin = {"Authorization": f"Bearer {served.key('admin')}"}
        before = parse(httpx.get(f"{served.url}/metrics", headers=admin, timeout=30).text)
        for _ in range(30):  # a new connection each: the processes share the listening socket
            assert httpx.get(f"{served.url}/healthz", timeout=30).status_code == 200
        scrapes = []
        for _ in range(4):
            scrapes.append(parse(httpx.get(f"{served.url}/metrics", headers=admin, timeout=30).text))
        assert len(list((served.data_dir / "metrics").glob("counter_*.db"))) >= 2  # a file per process
        for samples in scrapes:
            moved = value(samples, "zc_http_requests_total", route="/healthz", method="GET", status="200") - value(
                before, "zc_http_requests_total", route="/healthz", method="GET", status="200"
            )
            assert moved >= 30, moved  # never one process's share only
            assert ("zc_worker_queue_depth", frozenset({("pool", "requests")})) in samples
    finally:
        served.stop()
