"""The same jobs on Celery: this machine's Redis as the queue, its PostgreSQL as the
registry and the file store (no shared disk needed), two real worker processes. A worker
killed mid-job and Redis restarted empty mid-job: every certificate sealed exactly once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import httpx
import pytest

from service.config import Settings
from tests.batch_helpers import auth, kill, pending_certificates, wait_for
from tests.conftest import REDIS_QUEUE_URL
from tests.served import ROOT, _descendants, serve
from tests.test_batch_crash import assert_sealed_once, give_committee_a_key, keys_of

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def start_worker(env: dict, data_dir, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service", "worker", "--concurrency", "1", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def restart_redis() -> None:
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True, timeout=30)
    time.sleep(0.5)
    subprocess.run(REDIS_START, check=True, capture_output=True, timeout=30)
    import redis

    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis.from_url(REDIS_QUEUE_URL, socket_connect_timeout=1).ping()
            return
        except (redis.RedisError, OSError):
            assert time.monotonic() < deadline, "Redis did not come back"
            time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.redis
def test_celery_workers_seal_two_hundred_once_through_a_kill_and_a_redis_restart(tmp_path, postgres_url, redis_queue):
    env = {
        "DATABASE_URL": postgres_url,
        "QUEUE_URL": redis_queue,
        "ZC_FILE_STORE": "database",
        "ZC_BATCH_CHUNK": "5",
        "ZC_ORGS_CHECK_SECONDS": "1",
        "ZC_SEAL_LEVEL": "B-T",
        "ZC_BATCH_REQUEUE_SECONDS": "5",
        "ZC_BATCH_LEASE_SECONDS": "15",
    }
    service = serve(tmp_path, env=env)
    worker_env = {**service.env}
    logs = [open(tmp_path / f"worker-{n}.log", "wb") for n in range(3)]
    # Same machine: the same data dir, for the development PKI's keys (real keys are per machine anyway);
    # the certificate files go through PostgreSQL (ZC_FILE_STORE=database), not the folder.
    workers = [start_worker(worker_env, service.data_dir, logs[n]) for n in range(2)]
    try:
        keys = keys_of(service)
        numbers = pending_certificates(service, keys, 200, "CELERY")
        give_committee_a_key(service)
        job = httpx.post(
            f"{service.url}/api/v1/batches",
            json={"kind": "seal", "committee": "430001"},
            headers=auth(keys["staff"]),
            timeout=60,
        ).json()
        assert job["engine"] == "celery" and job["total"] == 200
        wait_for(service.url, keys["staff"], job["id"], until=lambda s: s["done"] >= 30)
        children = _descendants(workers[0].pid)
        assert children, "the Celery worker has no child process"
        kill(children[0])  # a worker process dies mid-chunk: Celery starts another, the chunk comes back
        wait_for(service.url, keys["staff"], job["id"], until=lambda s: s["done"] >= 90)
        if shutil.which("redis-server"):
            restart_redis()  # the queue comes back empty: the coordinator sends again what is left
        final = wait_for(service.url, keys["staff"], job["id"], timeout=600)
        assert final["state"] == "done" and final["done"] == 200 and final["failed"] == 0, final
        assert_sealed_once(
            Settings(data_dir=tmp_path / "data", database_url=postgres_url, file_store="database"), numbers, service.url
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        for log in logs:
            log.close()
        service.stop()
