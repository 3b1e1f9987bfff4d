"""Exactly once on the embedded default, from outside: a real service, its local pool, a
worker killed with SIGKILL mid-job, the service itself killed and started again, and two
jobs over the same certificates."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select

from service.config import Settings
from service.registry.models import Certificate, CertificateEvent
from service.services import build_services
from tests.batch_helpers import auth, kill, niced_workers, pending_certificates, wait_for
from tests.served import _descendants, serve

ENV = {"ZC_BATCH_CHUNK": "5", "ZC_ORGS_CHECK_SECONDS": "1", "ZC_SEAL_LEVEL": "B-T", "ZC_BATCH_PROCESSES": "2"}


def keys_of(service) -> dict:
    return {role: service.key(role) for role in ("platform", "staff")}


def give_committee_a_key(service) -> None:
    from tests.batch_helpers import COMMITTEE

    assert service.cli("orgs", "update", "--code", COMMITTEE[0], "--dev-key").returncode == 0
    time.sleep(1.5)  # ZC_ORGS_CHECK_SECONDS


def assert_sealed_once(settings: Settings, numbers: list[str], url: str) -> None:
    services = build_services(settings)
    try:
        with services.sessions() as session:
            rows = session.scalars(select(Certificate).where(Certificate.number.in_(numbers))).all()
            events = session.execute(
                select(CertificateEvent.number, func.count())
                .where(CertificateEvent.action == "sealed")
                .group_by(CertificateEvent.number)
            ).all()
        assert len(rows) == len(numbers) and {r.status for r in rows} == {"valid"}
        assert len(events) == len(numbers) and {n for _, n in events} == {1}, "a certificate sealed twice"
        for row in rows:
            report = services.sealers.validate(services.files.get(row.pdf_sha256))
            assert report.valid and len(report.seals) == 2, row.number
    finally:
        services.close()
    with httpx.Client(base_url=url, timeout=30) as client:
        for row in rows:
            page = client.get(f"/v/{row.token}")
            assert page.status_code == 200 and "有效" in page.text and "待签章" not in page.text


def test_two_hundred_sealed_once_through_a_killed_worker_and_a_restart(tmp_path):
    service = serve(tmp_path, env=ENV)
    try:
        keys = keys_of(service)
        numbers = pending_certificates(service, keys, 200, "CRASH")
        give_committee_a_key(service)
        job = httpx.post(
            f"{service.url}/api/v1/batches",
            json={"kind": "seal", "numbers": numbers},
            headers=auth(keys["staff"]),
            timeout=60,
        ).json()
        wait_for(service.url, keys["staff"], job["id"], until=lambda s: s["done"] >= 30)
        workers = niced_workers(service.process.pid)
        assert workers, "no batch worker to kill"
        kill(workers[0])
        wait_for(service.url, keys["staff"], job["id"], until=lambda s: s["done"] >= 100)
        # the service dies mid-job, with everything under it
        family = _descendants(service.process.pid)
        kill(service.process.pid)
        for pid in family:
            kill(pid)
        service.process.wait()
    finally:
        service.stop()
    restarted = serve(tmp_path, env=ENV)
    try:
        final = wait_for(restarted.url, keys["staff"], job["id"])
        assert final["state"] == "done" and final["done"] == 200 and final["failed"] == 0, final
        assert_sealed_once(Settings(data_dir=restarted.data_dir), numbers, restarted.url)
    finally:
        restarted.stop()


def test_overlapping_jobs_seal_each_certificate_once(tmp_path):
    service = serve(tmp_path, env=ENV)
    try:
        keys = keys_of(service)
        numbers = pending_certificates(service, keys, 40, "OVERLAP")
        give_committee_a_key(service)
        jobs = [
            httpx.post(f"{service.url}/api/v1/batches", json=body, headers=auth(keys["staff"]), timeout=60).json()
            for body in (
                {"kind": "seal", "numbers": numbers},
                {"kind": "seal", "numbers": numbers[::-1]},
                {"kind": "seal", "committee": "430001"},
            )
        ]
        results = [wait_for(service.url, keys["staff"], j["id"]) for j in jobs]
        # the filtered job holds what was still pending when it was made
        assert all(r["state"] == "done" and r["done"] == r["total"] for r in results)
        assert results[0]["total"] == results[1]["total"] == 40
        assert_sealed_once(Settings(data_dir=service.data_dir), numbers, service.url)
    finally:
        service.stop()
