"""The QR scan's registry read on the event loop (PostgreSQL): the same row as the
threadpool's read, the same pages, no thread needed, and recovery when the server drops
its connections."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from service.app import create_app
from service.config import Settings
from service.registry import certificates as repo
from service.registry.scan_reads import ScanReads, _conninfo, scan_reads
from tests.conftest import (
    auth,
    fresh_postgres_database,
    issue_contract_certificate,
    load_contract,
    make_key,
    terminate_connections,
)


def test_only_postgresql_through_psycopg_reads_on_the_event_loop():
    assert scan_reads("sqlite:////tmp/registry.sqlite3", 8) is None
    assert scan_reads("postgresql+asyncpg://u@h/db", 8) is None  # not a driver this module speaks
    assert isinstance(scan_reads("postgresql+psycopg://u@h/db", 8), ScanReads)
    assert _conninfo("postgresql+psycopg://zc:s%40cret@db.example:5433/registry") == (
        "postgresql://zc:s%40cret@db.example:5433/registry"
    )


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    with fresh_postgres_database() as url:
        settings = Settings(data_dir=tmp_path_factory.mktemp("scan-pg") / "data", database_url=url, seal_level="B-T")
        with TestClient(create_app(settings)) as client:
            keys = {role: make_key(settings, role) for role in ("platform", "staff")}
            yield client, keys, url


def _issue(client, keys, declaration_id: str) -> dict:
    issued = issue_contract_certificate(client, keys["platform"], declaration_id)
    issued["token"] = issued["verification_url"].rsplit("/", 1)[1]
    return issued


@pytest.mark.postgres
def test_the_event_loop_read_gives_the_row_the_threadpool_read_gives(pg):
    client, keys, url = pg
    issued = _issue(client, keys, "SCAN-PG-ROW")
    client.get(f"/v/{issued['token']}")  # the first view records the seal check

    async def read(token: str):
        reads = ScanReads(url, 1)
        await reads.open()
        try:
            return await reads.by_token(token)
        finally:
            await reads.close()

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            expected = repo.find_by_token_row(connection, issued["token"])._asdict()
    finally:
        engine.dispose()
    row = asyncio.run(read(issued["token"]))._asdict()
    # every column, with the same Python types: JSON as dicts, times with their zone
    assert row == expected and row["seal_checked_at"].tzinfo is not None
    assert row["request"]["holder"]["name"] == load_contract("certificate-request.json")["holder"]["name"]
    assert asyncio.run(read("no-such-token-0000")) is None


@contextmanager
def every_thread_taken(client) -> Iterator[int]:
    """Every token of the app's threadpool (anyio's default limiter) held by the test."""
    borrowers = [object() for _ in range(int(client.portal.call(_limiter).total_tokens))]

    async def take() -> int:
        limiter = to_thread.current_default_thread_limiter()
        for borrower in borrowers:
            await limiter.acquire_on_behalf_of(borrower)
        return int(limiter.available_tokens)

    async def give_back() -> None:
        limiter = to_thread.current_default_thread_limiter()
        for borrower in borrowers:
            limiter.release_on_behalf_of(borrower)

    left = client.portal.call(take)
    try:
        yield left
    finally:
        client.portal.call(give_back)


async def _limiter():
    return to_thread.current_default_thread_limiter()


@pytest.mark.postgres
@pytest.mark.timeout(120)  # a scan that needed a thread would wait for one for ever
def test_scans_answer_with_no_thread_free_and_say_what_the_registry_says(pg):
    client, keys, _ = pg
    assert client.app.state.scan_reads is not None
    staff = auth(keys["staff"])
    valid = _issue(client, keys, "SCAN-PG-VALID")
    revoked = _issue(client, keys, "SCAN-PG-REVOKED")
    client.post(
        f"/api/v1/certificates/{revoked['number']}/revoke",
        headers=staff,
        json={"category": "other", "reason": "测试撤销原因"},
    )
    for token in (valid["token"], revoked["token"]):
        assert client.get(f"/v/{token}").status_code == 200  # seals checked on first view (in a worker)

    with every_thread_taken(client) as left:
        assert left == 0
        # A scan campaign needs no thread: with every one of them taken, scans still answer.
        page = client.get(f"/v/{valid['token']}")
        assert page.status_code == 200 and "有效" in page.text and valid["number"] in page.text
        facts = client.get(f"/api/v1/verify/token/{valid['token']}").json()
        assert facts["status"] == "valid" and facts["offline_payload"]["number"] == valid["number"]
        revoked_page = client.get(f"/v/{revoked['token']}").text
        assert "已撤销" in revoked_page and "测试撤销原因" not in revoked_page
        assert client.get("/v/unknown-token-00000").status_code == 404


@pytest.mark.postgres
def test_a_superseded_version_names_the_current_one(pg):
    client, keys, _ = pg
    old = _issue(client, keys, "SCAN-PG-REISSUED")
    client.get(f"/v/{old['token']}")
    new = client.post(
        f"/api/v1/certificates/{old['number']}/reissue", headers=auth(keys["staff"]), json={"reason": "换证"}
    ).json()
    new_token = new["verification_url"].rsplit("/", 1)[1]
    page = client.get(f"/v/{old['token']}").text
    assert "已换发" in page and f'href="/v/{new_token}"' in page


@pytest.mark.postgres
def test_scans_go_on_when_the_server_drops_every_connection(pg):
    client, keys, url = pg
    issued = _issue(client, keys, "SCAN-PG-KILLED")
    for _ in range(3):
        assert client.get(f"/v/{issued['token']}").status_code == 200
    killed = terminate_connections(url)
    assert killed >= 1
    # The dead connections are found and replaced on the first failure, the read repeated.
    answers = [client.get(f"/v/{issued['token']}").status_code for _ in range(6)]
    assert answers == [200] * 6, answers


def test_no_server_to_be_had_fails_after_one_wait_not_two():
    import time

    from psycopg_pool import PoolTimeout

    async def read():
        reads = ScanReads("postgresql+psycopg://postgres@127.0.0.1:9/none", 1, timeout_seconds=0.5)
        await reads.open()
        try:
            started = time.monotonic()
            with pytest.raises(PoolTimeout):
                await reads.by_token("any-token-00000")
            return time.monotonic() - started
        finally:
            await reads.close()

    assert asyncio.run(read()) < 0.95  # one wait of 0.5 s, not a check and a second wait


@pytest.mark.postgres
def test_a_registry_out_of_reach_is_a_503_for_the_scan(pg, monkeypatch):
    import psycopg

    client, keys, _ = pg
    issued = _issue(client, keys, "SCAN-PG-DOWN")

    async def down(token):
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(client.app.state.scan_reads, "by_token", down)
    for path in (f"/v/{issued['token']}", f"/api/v1/verify/token/{issued['token']}"):
        answer = client.get(path)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5", (path, answer.status_code)
        assert answer.json()["error"] == "database_unavailable"
