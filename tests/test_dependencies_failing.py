"""Dependencies failing, through the real seams: a timestamp authority that hangs, a
PostgreSQL connection killed, a SQLite registry locked, a full disk, Redis out of reach.
The service answers 503 with Retry-After where it cannot work, records nothing half-done
(a number allocated for nothing gets its audit event), and recovers by itself."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.app import create_app
from service.config import Settings
from service.registry.db import open_registry
from service.registry.models import Certificate, NumberEvent
from service.sealing.orgs import ensure_dev_keys
from tests.conftest import auth, load_contract, make_key, terminate_connections


def count(client, model) -> int:
    with client.app.state.services.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def issue(client, key, declaration_id: str):
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    return client.post("/api/v1/certificates", json=body, headers=auth(key))


# --- the timestamp authority -----------------------------------------------------------------


class TimestampAuthority:
    """An RFC 3161 responder over HTTP with the development PKI's TSA key, that can be made
    to hang or to refuse."""

    def __init__(self, keys_dir: Path):
        from service.signing.tsa import build_dev_timestamper

        self.stamper = build_dev_timestamper(
            (keys_dir / "tsa.cert.pem").read_bytes(), (keys_dir / "tsa.key.pem").read_bytes()
        )
        self.mode = "up"
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                from asn1crypto import tsp

                body = self.rfile.read(int(self.headers["Content-Length"]))
                if authority.mode == "hang":
                    time.sleep(30)
                if authority.mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                answer = authority.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.mark.parametrize("failure", ["hang", "down"])
def test_a_timestamp_authority_that_fails_gets_a_503_and_nothing_recorded(tmp_path, failure):
    base = Settings(data_dir=tmp_path / "data")
    ensure_dev_keys(base, open_registry(base), datetime.now(UTC))  # the TSA's key, before it starts
    tsa = TimestampAuthority(base.keys_dir)
    settings = base.model_copy(update={"tsa_url": tsa.url, "tsa_timeout": 2, "seal_level": "B-T"})
    try:
        with TestClient(create_app(settings)) as client:
            key = make_key(settings, "platform")
            tsa.mode = failure
            started = time.monotonic()
            refused = issue(client, key, "TSA-1")
            assert refused.status_code == 503 and refused.headers["Retry-After"], refused.text
            assert "时间戳" in refused.json()["message"]
            assert time.monotonic() - started < 20
            assert count(client, Certificate) == 0
            with client.app.state.services.sessions() as session:
                (unused,) = session.scalars(select(NumberEvent)).all()
            assert unused.action == "unused" and unused.number.endswith("000001")
            # The authority comes back: the same request is issued, with the next number.
            tsa.mode = "up"
            issued = issue(client, key, "TSA-1")
            assert issued.status_code == 201 and issued.json()["status"] == "valid", issued.text
            assert issued.json()["number"].endswith("000002")
    finally:
        tsa.close()


# --- the registry ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_connections_killed_under_the_service(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, seal_level="B-T")
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        issued = issue(client, key, "PG-1")
        assert issued.status_code == 201
        number = issued.json()["number"]
        killed = terminate_connections(postgres_url)
        assert killed >= 1
        answers = [client.get(f"/api/v1/certificates/{number}", headers=auth(key)).status_code for _ in range(5)]
        assert set(answers) <= {200, 503} and answers[-1] == 200, answers
        assert issue(client, key, "PG-2").status_code == 201  # and writes work again


def test_a_locked_sqlite_registry_is_a_503_until_the_lock_goes(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_busy_seconds=0.5, seal_level="B-T")
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        locker = sqlite3.connect(settings.data_dir / "registry.sqlite3", timeout=5)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            refused = issue(client, key, "LOCK-1")
            assert refused.status_code == 503 and refused.json()["error"] == "database_unavailable", refused.text
        finally:
            locker.rollback()
            locker.close()
        assert issue(client, key, "LOCK-1").status_code == 201
        assert count(client, Certificate) == 1


# --- the disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_files_dir(tmp_path):
    """The file store on a 1 MB file system of its own (root and mount needed)."""
    files = tmp_path / "data" / "files"
    files.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(files)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({done.stderr.decode(errors='replace').strip()})")
    yield files
    subprocess.run(["umount", "-l", str(files)], capture_output=True)


def test_a_full_disk_is_a_503_with_nothing_recorded_and_recovers(tmp_path, small_files_dir):
    settings = Settings(data_dir=tmp_path / "data", seal_level="B-T")
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        filler = small_files_dir / "filler"
        with open(filler, "wb") as handle:  # leave less room than one certificate needs
            try:
                handle.write(b"\0" * (1024 * 1024))
            except OSError:
                pass
        refused = issue(client, key, "DISK-1")
        assert refused.status_code == 503 and refused.json()["error"] == "storage_unavailable", refused.text
        assert refused.headers["Retry-After"]
        assert count(client, Certificate) == 0 and count(client, NumberEvent) == 1
        filler.unlink()
        issued = issue(client, key, "DISK-1")
        assert issued.status_code == 201, issued.text
        pdf = client.get(issued.json()["pdf_url"], headers=auth(key))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


# --- Redis ------------------------------------------------------------------------------------


def test_lookups_go_on_when_the_shared_rate_limit_is_out_of_reach(tmp_path, caplog):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(data_dir=tmp_path / "data", redis_url=f"redis://127.0.0.1:{port}/0")
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/v1/verify/lookup", json={"number": "9420000000000000000", "name": "张三"})
    assert answer.status_code == 200 and answer.json()["found"] is False
    assert "Redis unavailable" in caplog.text


def test_a_batch_item_past_its_time_budget_fails_with_its_reason_and_the_job_goes_on(tmp_path):
    """The timestamp authority hangs for longer than an item may take: the worker is
    stopped, the item tried again, then failed with the reason; the pool still works."""
    from tests.test_batches import add_keyless_committee, give_key, issue_pending, wait_for

    base = Settings(data_dir=tmp_path / "data")
    ensure_dev_keys(base, open_registry(base), datetime.now(UTC))
    tsa = TimestampAuthority(base.keys_dir)
    settings = base.model_copy(
        update={
            "tsa_url": tsa.url,
            "tsa_timeout": 60,
            "seal_level": "B-T",
            "batch_processes": 1,
            "batch_chunk": 1,
            "batch_item_timeout_seconds": 2,
            "batch_max_attempts": 2,
        }
    )
    add_keyless_committee(settings)
    try:
        with TestClient(create_app(settings)) as client:
            keys = {role: make_key(settings, role) for role in ("platform", "staff", "admin")}
            numbers = issue_pending(client, keys, 2, "BUDGET")
            give_key(client, keys)
            tsa.mode = "hang"
            job = client.post(
                "/api/v1/batches", json={"kind": "seal", "numbers": numbers[:1]}, headers=auth(keys["staff"])
            ).json()
            failed = wait_for(client, keys, job["id"], timeout=90)
            assert failed["state"] == "failed" and failed["failed"] == 1, failed
            assert "时限" in failed["failures"][0]["reason"]
            tsa.mode = "up"
            job = client.post(
                "/api/v1/batches", json={"kind": "seal", "numbers": numbers}, headers=auth(keys["staff"])
            ).json()
            done = wait_for(client, keys, job["id"], timeout=90)
            assert done["done"] == 2 and done["failed"] == 0, done
    finally:
        tsa.close()
