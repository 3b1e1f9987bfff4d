"""1,000 ``pending_seal`` certificates sealed (two seals, B-T), three ways, same run:

* a sequential loop in one process (the baseline: the same item code, one after another);
* the local pool, driven by ``python -m service serve`` (embedded default, SQLite), while
  ``/healthz`` and a QR scan page are fetched every 50 ms;
* Celery with two worker processes on this machine (this machine's Redis as the queue).

The 1,000 certificates are issued once (a committee without a key, then given one) and the
data dir copied for each run, so every run starts from the same registry.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.common import ROOT, machine, summarize, versions_line, write_results

COUNT = int(os.environ.get("BENCH_BATCH_COUNT", "1000"))
COMMITTEE = ("430001", "湖南省工程技术中级专业技术职务任职资格评审委员会")
REDIS = "redis://127.0.0.1:6379/13"
BASE_ENV = {"ZC_SEAL_LEVEL": "B-T", "ZC_ORGS_CHECK_SECONDS": "1", "ZC_BATCH_CHUNK": "20"}


def _cli(*args: str, env: dict) -> str:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _serve(data_dir: Path, env: dict):
    from bench.bench_install import _free_port

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--workers", "1", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("serve did not start")


class _Connection:
    """One kept-alive HTTP/1.1 connection from the standard library. The benchmark's own
    polling shares the two cores with what it measures: a full client per request (an
    httpx call builds an SSL context each time) cost the run about a tenth of a core."""

    def __init__(self, url: str):
        self.address = urlsplit(url).netloc
        self.connection = http.client.HTTPConnection(self.address, timeout=30)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request("GET", path, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()  # the server closed an idle connection: open it again once
                self.connection = http.client.HTTPConnection(self.address, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def _wait(url: str, key: str, job_id: str) -> dict:
    connection = _Connection(url)
    try:
        while True:
            _, body = connection.get(f"/api/v1/batches/{job_id}", {"Authorization": f"Bearer {key}"})
            status = json.loads(body)
            if status["state"] in ("done", "failed", "cancelled"):
                return status
            time.sleep(0.2)
    finally:
        connection.close()


def prepare(data_dir: Path) -> None:
    """``COUNT`` pending certificates, and their committee given a key afterwards."""
    env = {**BASE_ENV, "ZC_DATA_DIR": str(data_dir)}
    _cli(
        "orgs",
        "add",
        "--code",
        COMMITTEE[0],
        "--name",
        COMMITTEE[1],
        "--role",
        "committee",
        "--no-key",
        "--data-dir",
        str(data_dir),
        env=env,
    )
    process, url = _serve(data_dir, BASE_ENV)
    try:
        key = _cli("api-keys", "create", "--role", "platform", "--data-dir", str(data_dir), env=env).split()[-1]
        request = json.loads((ROOT / "tests/data/contract/certificate-request.json").read_text("utf-8"))
        request["committee"]["code"], request["committee"]["name"] = COMMITTEE
        lines = "\n".join(
            json.dumps({**request, "declaration_id": f"BENCH-{i:05d}"}, ensure_ascii=False) for i in range(COUNT)
        )
        job = httpx.post(
            f"{url}/api/v1/batches",
            content=lines.encode(),
            timeout=120,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
        ).json()
        status = _wait(url, key, job["id"])
        assert status["done"] == COUNT, status
    finally:
        process.terminate()
        process.wait(timeout=60)
    _cli("orgs", "update", "--code", COMMITTEE[0], "--dev-key", "--data-dir", str(data_dir), env=env)


def _numbers(data_dir: Path) -> list[str]:
    from service.config import Settings
    from service.registry.db import open_registry
    from service.registry.models import Certificate

    with open_registry(Settings(data_dir=data_dir))() as session:
        return list(
            session.scalars(
                Certificate.__table__.select()
                .with_only_columns(Certificate.number)
                .where(Certificate.status == "pending_seal")
            )
        )


def run_sequential(data_dir: Path) -> dict:
    """The same item code, one certificate after another, in this process."""
    code = f"""
import json, resource, time
from datetime import timedelta
from service.config import Settings
from service.services import build_services
from service.batches.seal_kind import SealJob
from service.batches.jobs import create_job
from service.batches.work import run_items
from service.registry import batches as repo
from service.registry.db import transaction
from service.runtime import tune_gc
tune_gc()  # as every worker process does
services = build_services(Settings(data_dir=r"{data_dir}", seal_level="B-T"))
job, _ = create_job(services, SealJob(kind="seal", committee="{COMMITTEE[0]}"), created_by="bench:seq", engine="local")
started = time.perf_counter()
with transaction(services.sessions) as session:
    now = services.clock()
    ids = repo.claim(session, job.id, "seq", now, now + timedelta(hours=1), 100000)
result = run_items(services, job.id, ids, "seq")
seconds = time.perf_counter() - started
print(json.dumps({{"done": result.done, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **BASE_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "per_second": round(result["done"] / result["seconds"], 2), "workers": 1}


class _Sampler:
    """Peak RSS of the worker processes, and the latency of /healthz and a scan page, meanwhile."""

    def __init__(self, url: str | None, pids_of, scan_path: str | None):
        self.url, self.pids_of, self.scan_path = url, pids_of, scan_path
        self.rss: dict[int, float] = {}
        self.health: list[float] = []
        self.scan: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._memory)]
        if url:
            self._threads.append(threading.Thread(target=self._latency))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _memory(self):
        pids, found_at = [], 0.0
        while not self._stop.is_set():
            if time.monotonic() - found_at > 2:  # walking /proc for the workers costs more than reading them
                pids, found_at = self.pids_of(), time.monotonic()
            for pid in pids:
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.rss[pid] = max(self.rss.get(pid, 0.0), int(line.split()[1]) / 1024)
                except OSError:
                    pass
            time.sleep(0.2)

    def _latency(self):
        connection = _Connection(self.url)
        try:
            while not self._stop.is_set():
                for path, out in (("/healthz", self.health), (self.scan_path, self.scan)):
                    started = time.perf_counter()
                    status, _ = connection.get(path)
                    out.append(time.perf_counter() - started)
                    assert status == 200, (path, status)
                time.sleep(0.05)
        finally:
            connection.close()


def _niced(pid: int) -> list[int]:
    from tests.batch_helpers import niced_workers

    return niced_workers(pid)


def _scan_path(data_dir: Path) -> str:
    from service.config import Settings
    from service.registry.db import open_registry
    from service.registry.models import Certificate

    with open_registry(Settings(data_dir=data_dir))() as session:
        return (
            "/v/"
            + session.scalars(Certificate.__table__.select().with_only_columns(Certificate.token).limit(1)).first()
        )


def run_local(data_dir: Path, base_env: dict | None = None) -> dict:
    base_env = base_env or BASE_ENV
    process, url = _serve(data_dir, base_env)
    try:
        env = {**base_env, "ZC_DATA_DIR": str(data_dir)}
        key = _cli("api-keys", "create", "--role", "staff", "--data-dir", str(data_dir), env=env).split()[-1]
        httpx.get(url + _scan_path(data_dir), timeout=30)  # its seal check, once
        with _Sampler(url, lambda: _niced(process.pid), _scan_path(data_dir)) as sampler:
            started = time.perf_counter()
            job = httpx.post(
                f"{url}/api/v1/batches",
                json={"kind": "seal", "committee": COMMITTEE[0]},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            ).json()
            status = _wait(url, key, job["id"])
            seconds = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    return {
        "done": status["done"],
        "seconds": seconds,
        "per_second": round(status["done"] / seconds, 2),
        "workers": len(sampler.rss),
        "peak_rss_mb_per_worker": round(max(sampler.rss.values(), default=0), 1),
        "healthz": summarize(sampler.health),
        "scan_page": summarize(sampler.scan),
        "healthz_seconds": sampler.health,
        "scan_page_seconds": sampler.scan,
    }


def run_celery(data_dir: Path) -> dict:
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    env = {**BASE_ENV, "QUEUE_URL": REDIS}
    process, url = _serve(data_dir, env)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "service", "worker", "--concurrency", "1", "--data-dir", str(data_dir)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        key = _cli(
            "api-keys",
            "create",
            "--role",
            "staff",
            "--data-dir",
            str(data_dir),
            env={**env, "ZC_DATA_DIR": str(data_dir)},
        ).split()[-1]
        time.sleep(8)  # the workers connect and load their keys

        def pool_pids():
            from tests.served import _descendants

            return [pid for w in workers for pid in _descendants(w.pid)]

        with _Sampler(None, pool_pids, None) as sampler:
            started = time.perf_counter()
            job = httpx.post(
                f"{url}/api/v1/batches",
                json={"kind": "seal", "committee": COMMITTEE[0]},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            ).json()
            status = _wait(url, key, job["id"])
            seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        process.terminate()
        process.wait(timeout=60)
    return {
        "done": status["done"],
        "seconds": seconds,
        "per_second": round(status["done"] / seconds, 2),
        "workers": len(sampler.rss),
        "peak_rss_mb_per_worker": round(max(sampler.rss.values(), default=0), 1),
    }


ENGINES = (("sequential", run_sequential), ("local_pool", run_local), ("celery_2_workers", run_celery))


def main() -> None:
    rounds = int(os.environ.get("BENCH_BATCH_ROUNDS", "3"))
    runs: dict[str, list[dict]] = {name: [] for name, _ in ENGINES}
    with tempfile.TemporaryDirectory(prefix="zc-bench-batch-") as tmp:
        prepared = Path(tmp) / "prepared"
        prepare(prepared)
        assert len(_numbers(prepared)) == COUNT
        # The engines take turns, round after round, so that the machine's drift reaches
        # each of them alike; every run starts from its own copy of the prepared registry.
        for round_no in range(rounds):
            for name, run in ENGINES:
                copy = Path(tmp) / f"{name}-{round_no}"
                shutil.copytree(prepared, copy)
                result = run(copy)
                assert result["done"] == COUNT, (name, result)
                runs[name].append(result)
                shutil.rmtree(copy)
    summary = {name: _summary(results) for name, results in runs.items()}
    for result in runs["local_pool"]:  # the latencies are in the summary, pooled
        del result["healthz_seconds"], result["scan_page_seconds"]
    local, sequential, celery = summary["local_pool"], summary["sequential"], summary["celery_2_workers"]
    results = {
        "machine": machine(),
        "count": COUNT,
        "rounds": rounds,
        "runs": runs,
        "summary": summary,
        "local_vs_sequential": round(local["per_second"] / sequential["per_second"], 2),
        "celery_vs_local": round(celery["per_second"] / local["per_second"], 2),
        "local_vs_sequential_by_round": [
            round(lo["per_second"] / se["per_second"], 2) for lo, se in zip(runs["local_pool"], runs["sequential"])
        ],
    }
    write_results("batch", results, _markdown(results))


def _summary(results: list[dict]) -> dict:
    seconds = sorted(r["seconds"] for r in results)
    median = statistics.median(seconds)
    summary = {
        "workers": results[0]["workers"],
        "median_seconds": round(median, 2),
        "min_seconds": round(seconds[0], 2),
        "max_seconds": round(seconds[-1], 2),
        "per_second": round(COUNT / median, 2),
        "peak_rss_mb_per_worker": round(
            max(r.get("peak_rss_mb_per_worker", r.get("peak_rss_mb", 0)) for r in results), 1
        ),
    }
    if "healthz_seconds" in results[0]:
        for name in ("healthz", "scan_page"):
            summary[name] = summarize([t for r in results for t in r[f"{name}_seconds"]])
    return summary


def _markdown(r: dict) -> str:
    m = r["machine"]
    rows = []
    for name, run in r["summary"].items():
        rows.append(
            f"| {name} | {run['workers']} | {run['median_seconds']:.1f} | {run['min_seconds']:.1f}–"
            f"{run['max_seconds']:.1f} | {run['per_second']} | {run['peak_rss_mb_per_worker']:.0f} |"
        )
    local = r["summary"]["local_pool"]
    by_round = ", ".join(f"{x}×" for x in r["local_vs_sequential_by_round"])
    return "\n".join(
        [
            "# Batch sealing benchmark",
            "",
            f"{m['date']}, {m['cpu']} ({m['cores']} cores). {r['count']} `pending_seal` certificates sealed with both "
            "seals at B-T (the sealable copy kept at issuance, sealed as it is; file store, registry and audit event per "
            "certificate), from copies of one prepared data dir (SQLite), in one run: a sequential loop in one "
            "process, the local pool of `serve` (one worker per core), Celery with two worker processes (Redis on this "
            f"machine). {r['rounds']} rounds, the three taking turns in each; the median run of each, and the fastest "
            "and slowest.",
            versions_line(m),
            "",
            "| engine | workers | median s | min–max s | certificates/s (median) | peak RSS per worker MB |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Local pool / sequential (medians): **{r['local_vs_sequential']}×** (round by round: {by_round}); "
            f"Celery / local pool: **{r['celery_vs_local']}×**.",
            f"While the local pool ran: `/healthz` p99 {local['healthz']['p99_ms']} ms (median "
            f"{local['healthz']['median_ms']}, max {local['healthz']['max_ms']}), QR scan page p99 "
            f"{local['scan_page']['p99_ms']} ms (median {local['scan_page']['median_ms']}, max {local['scan_page']['max_ms']})"
            f" ({local['healthz']['runs']} samples each, one every 50 ms over one kept-alive connection, all rounds).",
            "",
        ]
    )


if __name__ == "__main__":
    main()
