"""Prometheus metrics (``/metrics``, or a port of their own with ``ZC_METRICS_PORT``).

Counted in the service process, never inside the worker processes (the pool counts a
task's result when it comes back), so one process's metrics, or with several ``serve``
processes prometheus_client's multiprocess files, are the whole truth. Labels are
bounded: a route is its template (``/v/{token}``), never the path asked for.

Recording never raises into a request: a metric that fails is logged once and skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "zc_http_requests", "HTTP requests answered, by route template, method and status", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "zc_http_request_duration_seconds",
    "Time to answer a request (to its last byte), by route",
    ["route"],
    buckets=SECONDS,
)
RENDERS = Counter(
    "zc_renders", "Documents rendered in the worker processes, by kind (form name, certificate, public_copy)", ["kind"]
)
SEALS = Counter(
    "zc_seals",
    "Certificates sealed, by kind and outcome (sealed, unsealed: no e-seal key, failed: a signing error)",
    ["kind", "outcome"],
)
WORKER_TASKS = Counter(
    "zc_worker_tasks",
    "Worker-process tasks, by task and outcome (ok, error, timeout, crashed)",
    ["pool", "task", "outcome"],
)
WORKER_TASK_DURATION = Histogram(
    "zc_worker_task_duration_seconds", "Time a worker-process task took, by task", ["pool", "task"], buckets=SECONDS
)
WORKER_TASK_PEAK = Histogram(
    "zc_worker_task_peak_growth_megabytes",
    "What a worker-process task added to its worker's resident memory at its peak, by task",
    ["pool", "task"],
    buckets=(1, 4, 16, 32, 64, 128, 256, 512, 1024, 2048),
)
QUEUE_DEPTH = Gauge(
    "zc_worker_queue_depth",
    "Requests waiting for a free worker process (beyond ZC_WORK_QUEUE: 503)",
    ["pool"],
    multiprocess_mode="livesum",
)
WORKERS_BUSY = Gauge("zc_worker_busy", "Worker processes working on a task now", ["pool"], multiprocess_mode="livesum")
BATCH_ITEMS_PROCESSED = Counter(
    "zc_batch_items_processed",
    "Batch items worked through by this service's pool, by outcome (done, failed, skipped)",
    ["outcome"],
)
VERDICTS = Counter(
    "zc_verification_verdicts",
    "Verification answers, by verdict and channel (scan, lookup, upload)",
    ["verdict", "channel"],
)
ERRORS = Counter("zc_errors", "Error answers (JSON error bodies), by their error code", ["code"])


def safely(record: Callable[[], object]) -> None:
    """Run ``record``; a failure of the metrics is logged, never raised."""
    try:
        record()
    except Exception:  # noqa: BLE001 - metrics must never break what they measure
        log.warning("recording a metric failed", exc_info=True)


# Any token is a method to HTTP: a label takes only these, so that made-up ones cannot
# grow the series without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    def record():
        HTTP_REQUESTS.labels(route, method if method in METHODS else "other", str(status)).inc()
        HTTP_DURATION.labels(route).observe(seconds)

    safely(record)


def count_error(code: str) -> None:
    safely(lambda: ERRORS.labels(code).inc())


def count_verdict(verdict: str, channel: str) -> None:
    safely(lambda: VERDICTS.labels(verdict, channel).inc())


def count_task(pool: str, task: str, args: tuple, outcome: str, value: object, seconds: float) -> None:
    """A worker-process task came back (``outcome`` ok or error, with its value or error),
    or did not (timeout, crashed): what it rendered and sealed."""

    def record():
        WORKER_TASKS.labels(pool, task, outcome).inc()
        WORKER_TASK_DURATION.labels(pool, task).observe(seconds)
        if task == "form" and outcome == "ok":
            RENDERS.labels(str(args[0]) if args else "form").inc()
        elif task == "public_copy" and outcome == "ok":
            RENDERS.labels("public_copy").inc()
        elif task == "certificate":
            if outcome == "ok":
                RENDERS.labels("certificate").inc()
                SEALS.labels("certificate", "sealed" if getattr(value, "seal_level", None) else "unsealed").inc()
            elif getattr(value, "code", None) in _SIGNING_CODES:
                SEALS.labels("certificate", "failed").inc()
        elif task == "batch" and outcome == "ok":
            for name in ("done", "failed", "skipped"):
                if getattr(value, name, 0):
                    BATCH_ITEMS_PROCESSED.labels(name).inc(getattr(value, name))

    safely(record)


_SIGNING_CODES = {"timestamp_failed", "key_source", "sealing_failed", "dev_pki"}


def observe_peak_growth(pool: str, task: str, megabytes: float) -> None:
    safely(lambda: WORKER_TASK_PEAK.labels(pool, task).observe(megabytes))


def set_queue(pool: str, waiting: int, busy: int) -> None:
    def record():
        QUEUE_DEPTH.labels(pool).set(waiting)
        WORKERS_BUSY.labels(pool).set(busy)

    safely(record)


# --- batch progress, read from the registry at scrape time ---------------------------


class BatchCollector:
    """``zc_batch_jobs{state}`` and ``zc_batch_items{state}`` (the items of open jobs): two
    grouped counts over indexed columns, whatever the number of processes."""

    def __init__(self, read_counts: Callable[[], tuple[dict[str, int], dict[str, int]]]):
        """``read_counts()``: jobs by state, and the items of open jobs by state."""
        self.read_counts = read_counts

    def describe(self):
        return []  # collected at scrape time only

    def collect(self):
        jobs = GaugeMetricFamily("zc_batch_jobs", "Batch jobs by state", labels=["state"])
        items = GaugeMetricFamily(
            "zc_batch_items",
            "Items of queued and running batch jobs, by state (pending, done, failed, cancelled)",
            labels=["state"],
        )
        try:
            job_rows, item_rows = self.read_counts()
        except Exception:  # noqa: BLE001 - a registry out of reach must not fail the scrape
            log.warning("batch metrics: the registry could not be read", exc_info=True)
            return
        for state in ("queued", "running", "done", "failed", "cancelled"):
            jobs.add_metric([state], job_rows.get(state, 0))
        for state in ("pending", "done", "failed", "cancelled"):
            items.add_metric([state], item_rows.get(state, 0))
        yield jobs
        yield items


class _Everything:
    """This process's metrics, or every process's (multiprocess mode), as one collector."""

    def describe(self):
        return []

    def collect(self):
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()


def build_registry(read_batch_counts: Callable[[], tuple[dict[str, int], dict[str, int]]]) -> CollectorRegistry:
    """What a scrape answers: the counters, and the batch progress ``read_batch_counts()`` reads."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Everything())
    registry.register(BatchCollector(read_batch_counts))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def start_server(registry: CollectorRegistry, port: int, host: str):
    """``/metrics`` on a plain port of its own (``ZC_METRICS_PORT``); returns the server,
    whose ``shutdown()`` stops it."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics served on http://%s:%d/metrics", host, server.server_address[1])
    return server
