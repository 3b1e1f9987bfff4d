"""Shared fixtures: settings in a temporary data dir, an app client, API keys, payloads."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.config import Settings
from service.documents.render import Renderer

DATA = Path(__file__).parent / "data"
CONTRACT = DATA / "contract"


def load_contract(name: str) -> dict:
    return json.loads((CONTRACT / name).read_text("utf-8"))


@pytest.fixture(scope="session", autouse=True)
def pyhanko_patches():
    """What the service installs at start-up, for the tests that call the core directly."""
    from service.signing.patches import install_pyhanko_patches

    install_pyhanko_patches()


@pytest.fixture(scope="session")
def contract_declaration() -> dict:
    return load_contract("declaration.json")


@pytest.fixture
def declaration(contract_declaration) -> dict:
    """A fresh copy of the contract's declaration, free to modify."""
    return copy.deepcopy(contract_declaration)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # Batch workers and upload checkers start on their first task here, not with every
    # test's app (ZC_BATCH_WARM, ZC_UPLOAD_WARM; the batch and upload tests keep the default).
    return Settings(data_dir=tmp_path / "data", batch_warm=False, upload_warm=False)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    defaults = Settings()
    return Renderer(defaults.templates_dir, defaults.fonts_dir)


def make_key(settings: Settings, role: str) -> str:
    from service.registry.api_keys import create_api_key
    from service.registry.db import open_registry, transaction

    with transaction(open_registry(settings)) as session:
        return create_api_key(session, role, datetime.now(UTC), label=f"test {role}")


@pytest.fixture
def client(settings):
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def keys(settings, client) -> dict[str, str]:
    return {role: make_key(settings, role) for role in ("platform", "staff", "admin")}


def issue_contract_certificate(client, key: str, declaration_id: str) -> dict:
    """The contract's certificate request under ``declaration_id``, issued (201) with the
    platform's ``key``: the answer's JSON."""
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    response = client.post("/api/v1/certificates", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return response.json()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- PostgreSQL -----------------------------------------------------------------

PG_ADMIN_URL = os.environ.get("DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database's URL, dropped afterwards; the test skipped when
    there is no server."""
    import uuid

    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        admin.dispose()
        pytest.skip(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); "
            "set DATABASE_TEST_URL to run the PostgreSQL tests"
        )
    name = f"zc_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def terminate_connections(url: str) -> int:
    """Ends every server process of the database at ``url`` (as a restart or a failover
    would): how many there were."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.rsplit("/", 1)[1]},
            ).scalar_one()
    finally:
        admin.dispose()


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


# A database of this machine's Redis kept for the Celery tests (flushed before and after each).
REDIS_QUEUE_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_queue():
    """This machine's Redis as an empty Celery queue for one test, or the test skipped."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_QUEUE_URL, socket_connect_timeout=1)
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_QUEUE_URL} ({type(exc).__name__}): the Celery tests need it")
    client.flushdb()
    yield REDIS_QUEUE_URL
    try:
        client.flushdb()
    except redis.RedisError:
        pass


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_settings(request, tmp_path) -> Settings:
    """Settings on SQLite, then on PostgreSQL: for tests that must hold on both."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    return Settings(data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url"))


# --- the suite's own timings ---------------------------------------------------------------
# Every test's duration (setup, call and teardown), slowest first, written at the end of a
# run to test-durations.json (ZC_TEST_DURATIONS names another file): what the fast lane's
# `slow` marks are decided from.
_DURATIONS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _DURATIONS[report.nodeid] = _DURATIONS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    if not _DURATIONS:
        return
    target = Path(os.environ.get("ZC_TEST_DURATIONS", Path(session.config.rootpath) / "test-durations.json"))
    ranked = dict(sorted(((k, round(v, 3)) for k, v in _DURATIONS.items()), key=lambda kv: -kv[1]))
    try:
        target.write_text(json.dumps({"total_seconds": round(sum(ranked.values()), 1), "tests": ranked}, indent=1))
    except OSError:
        pass  # a read-only checkout: the timings are only lost


# --- the fast lane (pytest -m "not slow") ------------------------------------------------------
# What it leaves out: whole modules that start real `serve` processes, browsers or Celery
# workers, the single tests that do, the PostgreSQL twins, and the tests tests/slow-tests.txt
# lists (over 1.5 s in a full run; tests/slow_lane.py writes it). CI runs everything.
SLOW_MODULES = {
    "test_serving.py",
    "test_serve.py",
    "test_supervisor.py",
    "test_batch_celery.py",
    "test_batch_crash.py",
    "test_staff_browser.py",
    "test_browser.py",
    "test_offline_browser.py",
    "test_package.py",
    "test_fuzz_api.py",
    "test_live_orgs.py",
}
SLOW_TESTS = (
    "test_observability.py::test_a_served_requests_log_lines_all_carry_its_id",
    "test_observability.py::test_several_served_processes_answer_one_scrape_for_all",
    "test_hostile_uploads.py::test_a_200_mb_upload_is_refused_after_reading_at_most_the_limit",
    "test_progress_streams.py::test_hundreds_of_held_streams_leave_health_and_status_quick",
    "test_lists.py::test_five_thousand_rows_render",
    "test_issuance.py::test_fifty_concurrent_issuances",
    "test_hostile_pdfs.py::test_without_the_budget_the_ceiling_alone_holds",
    "test_hostile_sheets.py::test_the_api_answers_413",
)


SLOW_LIST = Path(__file__).with_name("slow-tests.txt")


def _listed_slow() -> set[str]:
    if not SLOW_LIST.exists():
        return set()
    lines = SLOW_LIST.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def pytest_collection_modifyitems(config, items):
    listed = _listed_slow()
    for item in items:
        path = Path(str(item.fspath))
        nodeid = f"{path.name}::{item.name}"
        slow = path.name in SLOW_MODULES or nodeid.startswith(SLOW_TESTS)
        # The PostgreSQL twin of a registry test: its SQLite twin keeps the lane honest.
        slow = slow or "[postgresql" in item.name or item.nodeid in listed
        if slow:
            item.add_marker(pytest.mark.slow)
