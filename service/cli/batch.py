"""``batch seal|issue|renew|status|list`` and ``worker``: batch jobs from the command line.

``batch seal ...`` creates the job (or finds the same one, from an earlier run that was
interrupted) and works through it here with a progress bar; when a running service
already coordinates jobs for this data dir, it leaves the work to it and shows the
progress. Interrupting and running the same command again continues where it stopped.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import threading
from pathlib import Path

from service.cli.common import CliError, print_table, settings_from_args


def _request(args: argparse.Namespace):
    from pydantic import ValidationError

    from service.batches.issue_kind import IssueJob
    from service.batches.renew_kind import RenewJob
    from service.batches.seal_kind import SealJob

    try:
        if args.kind == "seal":
            return SealJob(
                kind="seal", numbers=args.numbers or None, committee=args.committee, issuer=args.issuer, year=args.year
            )
        if args.kind == "renew":
            return RenewJob(kind="renew", days=args.days)
        return IssueJob(kind="issue", requests=_read_requests(args.file))
    except ValidationError as exc:
        raise CliError(
            "; ".join(f"{'.'.join(map(str, e['loc'])) or 'job'}: {e['msg']}" for e in exc.errors())
        ) from None


def _read_requests(path: Path) -> list[dict]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if text.lstrip().startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON or JSON Lines (line {exc.lineno}, column {exc.colno})") from None


def cmd_batch_run(args: argparse.Namespace) -> int:
    from service.batches.engine import Coordinator, engine_name
    from service.batches.jobs import create_job, job_key_of
    from service.runtime import tune_gc
    from service.services import WORKER_SETUP, build_services
    from service.workers.pool import WorkerPool

    tune_gc()
    request = _request(args)
    services = build_services(settings_from_args(args))
    scope = f"cli:{getpass.getuser()}"
    job, created = create_job(
        services, request, created_by=scope, engine=engine_name(services), job_key=job_key_of(request, None, scope)
    )
    print(
        f"job {job.id} ({job.kind}, {job.total} certificates) {'created' if created else 'continued'}", file=sys.stderr
    )
    pool = (
        WorkerPool(services.settings, WORKER_SETUP, services.settings.batch_processes, name="batch")
        if job.engine == "local"
        else None
    )
    coordinator = Coordinator(services, pool, poll_seconds=0.2)
    coordinator.start()
    try:
        status = _follow(services, job.id, quiet=args.quiet)
    except KeyboardInterrupt:
        print(f"\ninterrupted: run the same command again to continue job {job.id}", file=sys.stderr)
        return 130
    finally:
        coordinator.stop()
        if pool is not None:
            pool.close()
        services.close()
    _print_failures(status)
    return 0 if status["state"] == "done" and not status["failed"] else 1


def _follow(services, job_id: str, quiet: bool = False) -> dict:
    """Show the job's progress until it ends: count, rate and time left (tqdm)."""
    from tqdm import tqdm

    from service.batches.progress import job_status

    status = job_status(services, job_id)
    with tqdm(
        total=status["total"], unit="张", disable=quiet, dynamic_ncols=True, desc=f"{status['kind']} {job_id}"
    ) as bar:
        while True:
            finished = status["done"] + status["failed"] + status["cancelled"]
            bar.update(finished - bar.n)
            bar.set_postfix(failed=status["failed"], refresh=False)
            if status["state"] in ("done", "failed", "cancelled"):
                return status
            threading.Event().wait(0.3)
            status = job_status(services, job_id)


def _print_failures(status: dict) -> None:
    print(
        f"{status['state']}: {status['done']} done, {status['failed']} failed, {status['cancelled']} cancelled",
        file=sys.stderr,
    )
    for failure in status["failures"]:
        print(f"  #{failure['seq']} {failure['item']}: {failure['reason']}", file=sys.stderr)


def cmd_batch_status(args: argparse.Namespace) -> int:
    from service.batches.progress import job_status
    from service.services import build_services

    services = build_services(settings_from_args(args))
    try:
        print(json.dumps(job_status(services, args.id), ensure_ascii=False, indent=2))
    finally:
        services.close()
    return 0


def cmd_batch_list(args: argparse.Namespace) -> int:
    from service.registry import batches as repo
    from service.registry.db import open_registry

    with open_registry(settings_from_args(args))() as session:
        jobs = repo.recent_jobs(session, limit=args.limit)
        rows = [("ID", "KIND", "STATE", "TOTAL", "BY", "CREATED")]
        for job in jobs:
            counts = repo.counts(session, job.id)
            rows.append(
                (
                    job.id,
                    job.kind,
                    job.state,
                    f"{counts.get('done', 0)}/{job.total}",
                    job.created_by,
                    job.created_at.strftime("%Y-%m-%d %H:%M"),
                )
            )
    print_table(rows)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not settings.queue_url:
        raise CliError(
            "QUEUE_URL (or ZC_QUEUE_URL) is not set: workers take batch items from a Celery queue "
            "(redis://...); without one, serve runs batch jobs itself"
        )
    from service.batches.queue import QUEUE, celery_app
    from service.services import build_services

    build_services(settings).close()  # migrate and check before any task arrives
    os.environ["ZC_DATA_DIR"] = str(settings.data_dir.resolve())  # the worker processes read their settings
    concurrency = args.concurrency or settings.batch_processes or os.cpu_count() or 1
    app = celery_app(settings)
    app.conf.worker_hijack_root_logger = False  # its lines go through the service's JSON (or text) lines
    app.worker_main(
        [
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--queues",
            QUEUE,
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"zc-worker-{os.getpid()}@%h",
        ]
    )
    return 0


def add_commands(commands, with_data_dir) -> None:
    batch = commands.add_parser("batch", help="batch jobs: seal, issue or renew many certificates")
    actions = batch.add_subparsers(dest="action", required=True)
    seal = with_data_dir(actions.add_parser("seal", help="seal pending_seal certificates (by numbers or a filter)"))
    seal.add_argument("--numbers", nargs="+", help="certificate numbers")
    seal.add_argument("--committee", help="评委会 code")
    seal.add_argument("--issuer", help="发证机关 code")
    seal.add_argument("--year", type=int, help="year of issue")
    issue = with_data_dir(actions.add_parser("issue", help="issue the certificate requests of a JSON Lines file"))
    issue.add_argument("file", type=Path, help="JSON Lines (one request per line) or a JSON array")
    renew = with_data_dir(actions.add_parser("renew", help="renew B-LTA certificates whose timestamps expire soon"))
    renew.add_argument("--days", type=int, default=90, help="renew what expires within this many days (90)")
    for parser, kind in ((seal, "seal"), (issue, "issue"), (renew, "renew")):
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        parser.set_defaults(func=cmd_batch_run, kind=kind)
    status = with_data_dir(actions.add_parser("status", help="a job's progress and failures, as JSON"))
    status.add_argument("id")
    status.set_defaults(func=cmd_batch_status)
    listing = with_data_dir(actions.add_parser("list", help="recent jobs"))
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(func=cmd_batch_list)

    worker = with_data_dir(commands.add_parser("worker", help="a Celery worker for batch jobs (needs QUEUE_URL)"))
    worker.add_argument("--concurrency", type=int, default=None, help="worker processes (default: one per core)")
    worker.set_defaults(func=cmd_worker)
