"""Batch jobs on the embedded default (SQLite, the local pool): seal, issue, renew, cancel,
progress, archive, and exactly once whatever stops half-way."""

from __future__ import annotations

import copy
import io
import json
import time
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.app import create_app
from service.config import Settings
from service.registry.db import open_registry, transaction
from service.registry.models import Certificate, CertificateEvent
from service.registry.orgs import add_org
from tests.conftest import auth, load_contract, make_key

COMMITTEE = ("430001", "湖南省工程技术中级专业技术职务任职资格评审委员会")


def request_for(declaration_id: str, committee=COMMITTEE) -> dict:
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    body["committee"]["code"], body["committee"]["name"] = committee
    return body


def add_keyless_committee(settings: Settings) -> None:
    with transaction(open_registry(settings)) as session:
        add_org(session, *COMMITTEE, "committee", datetime.now(UTC), key_source=None, seal_bottom_text="职称评审专用章")


def give_key(client, keys) -> None:
    response = client.patch(
        f"/api/v1/organisations/{COMMITTEE[0]}", headers=auth(keys["admin"]), json={"key_source": {"kind": "dev"}}
    )
    assert response.status_code == 200
    assert client.post("/api/v1/organisations/reload", headers=auth(keys["admin"])).status_code == 200


def wait_for(client, keys, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/v1/batches/{job_id}", headers=auth(keys["staff"])).json()
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


@pytest.fixture
def env(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", seal_level="B-T", batch_processes=2, batch_chunk=5)
    add_keyless_committee(settings)
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff", "admin")}
        yield client, settings, keys


def issue_pending(client, keys, count: int, prefix: str = "PEND") -> list[str]:
    numbers = []
    for i in range(count):
        response = client.post(
            "/api/v1/certificates", json=request_for(f"{prefix}-{i:04d}"), headers=auth(keys["platform"])
        )
        assert response.status_code == 201 and response.json()["status"] == "pending_seal", response.text
        numbers.append(response.json()["number"])
    return numbers


def test_a_seal_job_seals_every_pending_certificate_once(env):
    client, settings, keys = env
    numbers = issue_pending(client, keys, 12)
    give_key(client, keys)
    created = client.post(
        "/api/v1/batches", json={"kind": "seal", "committee": COMMITTEE[0], "year": 2024}, headers=auth(keys["staff"])
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["total"] == 12 and job["state"] in ("queued", "running")
    done = wait_for(client, keys, job["id"])
    assert done["state"] == "done" and done["done"] == 12 and done["failed"] == 0
    services = client.app.state.services
    with services.sessions() as session:
        rows = session.scalars(select(Certificate).where(Certificate.number.in_(numbers))).all()
        sealed_events = session.scalar(
            select(func.count()).select_from(CertificateEvent).where(CertificateEvent.action == "sealed")
        )
    assert {r.status for r in rows} == {"valid"} and sealed_events == 12
    pdf = services.files.get(rows[0].pdf_sha256)
    report = services.sealers.validate(pdf)
    assert report.valid and len(report.seals) == 2
    # the sealed file is the sealable one (no unsealed notice), same number and QR
    from tests.pdftext import pdf_text

    text = pdf_text(pdf)
    assert rows[0].number in text.replace(" ", "") and "未加盖电子印章" not in text
    page = client.get("/v/" + rows[0].token)
    assert "有效" in page.text and "待签章" not in page.text
    # run again: nothing changes
    again = client.post("/api/v1/batches", json={"kind": "seal", "numbers": numbers}, headers=auth(keys["staff"]))
    rerun = wait_for(client, keys, again.json()["id"])
    assert rerun["done"] == 12
    with services.sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(CertificateEvent).where(CertificateEvent.action == "sealed")
            )
            == 12
        )


def test_the_batch_workers_start_with_their_seals_loaded(tmp_path):
    """The coordinating service starts its batch workers and loads their keys and seal
    images at once (``ZC_BATCH_WARM``), so that a job's first item does not wait for them."""
    from service.observability.metrics import WORKER_TASKS

    warm_ok = WORKER_TASKS.labels("batch", "warm_sealing", "ok")
    before = warm_ok._value.get()
    settings = Settings(data_dir=tmp_path / "warm", seal_level="B-T", batch_processes=2)
    with TestClient(create_app(settings)) as client:
        pool = client.app.state.batch_pool
        deadline = time.monotonic() + 60
        while warm_ok._value.get() < before + 2:
            assert time.monotonic() < deadline, (pool.worker_pids(), pool.busy)
            time.sleep(0.05)
        assert len(pool.worker_pids()) == 2
    # with it off, nothing starts before the first job
    cold = Settings(data_dir=tmp_path / "cold", seal_level="B-T", batch_processes=2, batch_warm=False)
    with TestClient(create_app(cold)) as client:
        time.sleep(1)
        assert client.app.state.batch_pool.worker_pids() == []
    assert warm_ok._value.get() == before + 2


def test_an_issue_job_issues_the_good_and_names_the_bad(env):
    client, settings, keys = env
    good = [
        request_for(f"SEASON-{i}", ("420001", "湖北省工程技术中级专业技术职务任职资格评审委员会")) for i in range(5)
    ]
    bad = copy.deepcopy(good[0])
    bad["declaration_id"] = "SEASON-BAD"
    bad["holder"]["birth_date"] = "2024-02-30"
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in [*good[:2], bad, *good[2:]])
    created = client.post(
        "/api/v1/batches",
        content=lines.encode(),
        headers={**auth(keys["platform"]), "Content-Type": "application/x-ndjson"},
    )
    assert created.status_code == 202, created.text
    done = wait_for(client, keys, created.json()["id"])
    assert done["done"] == 5 and done["failed"] == 1
    (failure,) = done["failures"]
    assert failure["item"] == "SEASON-BAD" and "holder.birth_date" in failure["reason"]
    archive = client.get(f"/api/v1/batches/{done['id']}/archive", headers=auth(keys["staff"]))
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        manifest = json.loads(files.read("manifest.json"))
        assert len(manifest["certificates"]) == 5
        import hashlib

        for entry in manifest["certificates"]:
            assert hashlib.sha256(files.read(entry["file"])).hexdigest() == entry["sha256"]
            assert entry["holder"] == "张三"
    # the same season sent again as a job: replays, nothing new
    again = client.post("/api/v1/batches", json={"kind": "issue", "requests": good}, headers=auth(keys["platform"]))
    rerun = wait_for(client, keys, again.json()["id"])
    with client.app.state.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 5
    assert rerun["done"] == 5


def test_platform_keys_may_only_issue(env):
    client, _, keys = env
    response = client.post("/api/v1/batches", json={"kind": "seal", "numbers": ["1"]}, headers=auth(keys["platform"]))
    assert response.status_code == 403


def test_bad_jobs_are_named(env):
    client, _, keys = env
    for body, path in (
        ({"kind": "stamp"}, "kind"),
        ({"kind": "renew", "days": 0}, "days"),
        ({"kind": "seal", "numbers": ["1"], "year": 2024}, "(body)"),
        ([1], "kind"),
        ({"kind": "issue", "requests": []}, "requests"),
    ):
        response = client.post("/api/v1/batches", json=body, headers=auth(keys["staff"]))
        assert response.status_code == 422, response.text
        assert any(path in e["path"] for e in response.json()["errors"]), response.json()
    assert client.get("/api/v1/batches/nope", headers=auth(keys["staff"])).status_code == 404


def test_the_same_idempotency_key_gets_the_same_job(env):
    client, _, keys = env
    headers = {**auth(keys["staff"]), "Idempotency-Key": "season-2024"}
    first = client.post("/api/v1/batches", json={"kind": "seal", "numbers": ["9"]}, headers=headers)
    second = client.post("/api/v1/batches", json={"kind": "seal", "numbers": ["9"]}, headers=headers)
    assert first.status_code == 202 and second.status_code == 200 and first.json()["id"] == second.json()["id"]


def test_events_stream_progress_to_the_end(env):
    client, _, keys = env
    numbers = issue_pending(client, keys, 6, "SSE")
    give_key(client, keys)
    job = client.post("/api/v1/batches", json={"kind": "seal", "numbers": numbers}, headers=auth(keys["staff"])).json()
    events = []
    with client.stream("GET", f"/api/v1/batches/{job['id']}/events", headers=auth(keys["staff"])) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
            elif line.startswith("data:") and events[-1] == "progress":
                events[-1] = ("progress", json.loads(line[5:])["done"])
    assert events[-1] == "end"
    progress = [done for kind, done in events[:-1]]
    assert progress == sorted(progress) and progress[-1] == 6


def test_cancel_stops_a_job(env):
    client, settings, keys = env
    numbers = issue_pending(client, keys, 30, "CANCEL")
    # no key yet: every item would fail; cancel before the coordinator gets far
    job = client.post("/api/v1/batches", json={"kind": "seal", "numbers": numbers}, headers=auth(keys["staff"])).json()
    cancelled = client.post(f"/api/v1/batches/{job['id']}/cancel", headers=auth(keys["staff"]))
    assert cancelled.status_code == 200
    final = wait_for(client, keys, job["id"])
    assert final["state"] == "cancelled" and final["cancelled"] + final["done"] + final["failed"] == 30
    assert client.post(f"/api/v1/batches/{job['id']}/cancel", headers=auth(keys["staff"])).status_code == 422


def test_a_renew_job_renews_what_expires_soon_under_a_frozen_clock(tmp_path):
    from datetime import timedelta

    from service.batches.jobs import create_job
    from service.batches.progress import job_status, settle
    from service.batches.renew_kind import RenewJob
    from service.batches.work import run_items
    from service.registry import batches as repo
    from service.services import build_services

    settings = Settings(data_dir=tmp_path / "data", seal_level="B-LTA")
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        issued = [
            client.post(
                "/api/v1/certificates",
                json=request_for(f"LTA-{i}", ("420001", "湖北省工程技术中级专业技术职务任职资格评审委员会")),
                headers=auth(key),
            ).json()
            for i in range(3)
        ]
    assert {i["seal_level"] for i in issued} == {"B-LTA"}
    services = build_services(settings)
    try:
        with services.sessions() as session:
            until = session.scalar(select(func.min(Certificate.archive_until)))
        assert until is not None
        # Far from the TSA certificate's end: nothing is due.
        early = create_job(services, RenewJob(kind="renew", days=30), created_by="staff:test", engine="local")[0]
        assert early.total == 0
        # A month before it ends, with 90 days of warning: all three are due.
        frozen = (until if until.tzinfo else until.replace(tzinfo=UTC)) - timedelta(days=30)
        services.clock = lambda: frozen
        job = create_job(services, RenewJob(kind="renew", days=90), created_by="staff:test", engine="local")[0]
        assert job.total == 3
        with transaction(services.sessions) as session:
            ids = repo.claim(session, job.id, "test", frozen, frozen + timedelta(minutes=5), 10)
        before = {i["number"]: client_pdf(services, i["number"]) for i in issued}
        result = run_items(services, job.id, ids, "test")
        assert result.done == 3
        settle(services, job.id)
        status = job_status(services, job.id)
        assert status["state"] == "done" and status["done"] == 3
        for number, old in before.items():
            new = client_pdf(services, number)
            assert new != old and new.startswith(old)  # an incremental update: the earlier bytes untouched
            report = services.sealers.validate(new)
            assert report.valid and len(report.seals) == 2 and len(report.document_timestamps) == 2
        with services.sessions() as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(CertificateEvent).where(CertificateEvent.action == "renewed")
                )
                == 3
            )
    finally:
        services.close()


def client_pdf(services, number: str) -> bytes:
    from service.registry import certificates as certificate_repo

    with services.sessions() as session:
        return services.files.get(certificate_repo.current_version(session, number).pdf_sha256)


def test_the_command_line_runs_a_job_and_continues_it(tmp_path):
    import subprocess
    import sys

    from tests.served import ROOT

    settings = Settings(data_dir=tmp_path / "data", seal_level="B-T")
    add_keyless_committee(settings)
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff", "admin")}
        numbers = issue_pending(client, keys, 8, "CLI")
        give_key(client, keys)
    run = [
        sys.executable,
        "-m",
        "service",
        "batch",
        "seal",
        "--committee",
        COMMITTEE[0],
        "--data-dir",
        str(settings.data_dir),
    ]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "created" in done.stderr and "done: 8 done, 0 failed" in done.stderr
    assert "张/s" in done.stderr or "it/s" in done.stderr  # the progress bar's rate
    again = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "continued" in again.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "service", "batch", "list", "--data-dir", str(settings.data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "8/8" in listing.stdout
    with open_registry(settings)() as session:
        assert {c.status for c in session.scalars(select(Certificate))} == {"valid"}
        assert len(numbers) == 8


def test_the_last_chunks_of_a_job_are_shared_out(tmp_path):
    """Claims take ``batch_chunk`` items, fewer towards the end, so that the workers finish
    together instead of one doing a whole last chunk alone; every item is claimed once."""
    from types import SimpleNamespace

    from service.batches.chunks import claim_chunk
    from service.batches.engine import Coordinator
    from service.batches.jobs import create_job
    from service.batches.seal_kind import SealJob
    from service.services import build_services

    services = build_services(Settings(data_dir=tmp_path / "data", seal_level="B-T", batch_chunk=20))
    try:
        job, _ = create_job(
            services, SealJob(kind="seal", numbers=[f"N{i:03d}" for i in range(120)]), created_by="test", engine="local"
        )
        coordinator = Coordinator(services, SimpleNamespace(size=2))  # two workers: four chunks in flight
        sizes, claimed = [], []
        while ids := claim_chunk(services, job.id, coordinator.owner, coordinator._chunk(job.id)):
            sizes.append(len(ids))
            claimed += ids
        assert sizes == [20, 20, 20, 15, 12, 9, 6, 5, 4, 3, 2, 1, 1, 1, 1]
        assert len(claimed) == len(set(claimed)) == 120
    finally:
        services.close()


@pytest.mark.redis
def test_celery_items_sent_before_go_again_only_once_the_queue_has_run_dry(tmp_path, monkeypatch, redis_queue):
    """A chunk sent again waits behind every message already queued: while the queue holds
    messages, items sent before are waiting their turn, and the coordinator sends only new
    ones; once the queue is empty (or gone, as after a Redis restart) it sends the stale
    ones again. This machine's Redis is the queue; no worker takes from it."""
    import redis

    from service.batches import queue
    from service.batches.engine import Coordinator
    from service.batches.jobs import create_job
    from service.batches.seal_kind import SealJob
    from service.services import build_services

    url = redis_queue
    client = redis.Redis.from_url(url)
    sent: list[int] = []
    real_send = queue.send_chunks
    monkeypatch.setattr(queue, "send_chunks", lambda s, job_id, ids: (sent.extend(ids), real_send(s, job_id, ids)))
    now = [datetime(2026, 3, 1, 9, 0, tzinfo=UTC)]
    settings = Settings(data_dir=tmp_path / "data", queue_url=url, batch_chunk=5, batch_requeue_seconds=60)
    services = build_services(settings)
    services.clock = lambda: now[0]
    try:
        first, _ = create_job(
            services, SealJob(kind="seal", numbers=[f"A{i:02d}" for i in range(10)]), created_by="t", engine="celery"
        )
        coordinator = Coordinator(services)
        coordinator._resend([first.id])
        assert len(sent) == 10 and queue.queue_depth(settings) == 2  # new items: sent at once
        now[0] += timedelta(seconds=120)  # nobody took them, long past the requeue time
        second, _ = create_job(
            services, SealJob(kind="seal", numbers=[f"B{i:02d}" for i in range(5)]), created_by="t", engine="celery"
        )
        coordinator._resend([first.id, second.id])
        assert len(sent) == 15 and queue.queue_depth(settings) == 3  # the new job's only: the queue is not dry
        client.lpop(queue.QUEUE)
        coordinator._resend([first.id, second.id])
        assert len(sent) == 15 and queue.queue_depth(settings) == 2  # still not dry
        while client.lpop(queue.QUEUE):  # the workers took every message (and lost them)
            pass
        assert queue.queue_depth(settings) is None  # Redis keeps no empty list: as after a restart
        coordinator._resend([first.id, second.id])
        assert len(sent) == 25  # the first job's ten again; the second's were sent 0 s ago
        now[0] += timedelta(seconds=120)
        client.flushdb()  # a Redis that restarted empty
        coordinator._resend([first.id, second.id])
        assert len(sent) == 40
    finally:
        services.close()
