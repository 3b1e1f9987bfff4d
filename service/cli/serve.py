"""``serve``: the doctor's checks, then the HTTP service (uvicorn, one or more processes)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
from functools import partial
from typing import TypedDict, cast

from service.cli.common import CliError, settings_from_args
from service.cli.listening import ListeningSocketPerProcess, free_address
from service.config import Settings

log = logging.getLogger("service.checks")


def check_before_serving(settings: Settings) -> None:
    """The doctor's checks, at start-up: refuse to start when documents would come out
    wrong; say loudly when they would only come out slowly."""
    from service.checks import OK, run_checks

    checks = run_checks(settings)
    for check in checks:
        log.log(logging.INFO if check.verdict == OK else logging.ERROR, "%s", check.line())
    fatal = [c for c in checks if c.fatal]
    if fatal:
        raise CliError(
            "cannot serve: "
            + "; ".join(f"{c.name}: {c.detail}" for c in fatal)
            + " (python -m service doctor shows every check)"
        )


class _UvicornOptions(TypedDict):
    proxy_headers: bool
    server_header: bool
    access_log: bool


# proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any local peer
# as the client's address; the service decides that itself (ZC_TRUSTED_PROXIES).
# server_header=False: no "Server: uvicorn" telling every visitor what to attack.
# access_log=False: the service writes one access line per request itself, with the route
# template and the request id (service.observability.middleware); log_config: uvicorn's own
# lines in the service's format, in each of its processes.
UVICORN: _UvicornOptions = {"proxy_headers": False, "server_header": False, "access_log": False}


def prepare_multiprocess_metrics(settings: Settings) -> None:
    """Several service processes: prometheus_client keeps each one's metrics in files under
    the data dir, emptied at start (a previous run's counts would add up with this one's),
    so that a scrape of any process sees them all. Set before prometheus_client is imported
    here or in the processes uvicorn starts."""
    path = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.workers > 1:
        prepare_multiprocess_metrics(settings)

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from service.app import create_app
    from service.observability.logs import logging_config
    from service.runtime import SUPERVISOR_ENV, tune_gc
    from service.services import build_services
    from service.workers.pool import default_size

    tune_gc()
    log_format = settings.log_format or "json"
    log_config = logging_config(log_format, settings.log_level)
    check_before_serving(settings)
    if args.public_base_url is None and settings.public_base_url == "http://127.0.0.1:8000":
        settings = settings.model_copy(update={"public_base_url": f"http://{args.host}:{args.port}"})
    elif args.public_base_url:
        settings = settings.model_copy(update={"public_base_url": args.public_base_url})
    if args.workers <= 1:
        uvicorn.run(
            create_app(settings), host=args.host, port=args.port, log_level="info", log_config=log_config, **UVICORN
        )
        return 0
    # Several processes: migrate the registry and create the development keys
    # once, here, so that the workers do not race to do it; the cores are shared out
    # between their render workers.
    build_services(settings).close()
    os.environ.update(
        {
            SUPERVISOR_ENV: str(os.getpid()),
            "ZC_DATA_DIR": str(settings.data_dir.resolve()),
            "ZC_PUBLIC_BASE_URL": settings.public_base_url,
            "ZC_WORK_PROCESSES": str(default_size(settings, args.workers)),
            "ZC_LOG_FORMAT": log_format,
            "ZC_LOG_LEVEL": settings.log_level,
        }
    )
    try:
        port = free_address(args.host, args.port)
    except OSError as exc:
        raise CliError(f"cannot serve on {args.host}:{args.port}: {exc.strerror}") from exc
    config = uvicorn.Config(
        "service.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        log_level="info",
        log_config=log_config,
        **UVICORN,
    )
    metrics_server = _serve_metrics_here(settings)
    try:
        log.info("serving on http://%s:%d with %d processes, a listening socket each", args.host, port, args.workers)
        # uvicorn's supervisor as uvicorn.run uses it (restarts, signals), each of its
        # processes listening on a socket of its own (service.cli.listening).
        sockets = [ListeningSocketPerProcess(args.host, port, config.backlog)]
        Multiprocess(config, sockets=cast(list[socket.socket], sockets)).run()
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
    return 0


def _serve_metrics_here(settings: Settings):
    """``ZC_METRICS_PORT`` with several processes: one port, held by this process, which
    reads every process's metrics files (the processes themselves leave it alone)."""
    if settings.metrics_port is None:
        return None
    from service.observability.metrics import build_registry, start_server
    from service.registry.batches import state_counts_of
    from service.registry.db import open_registry

    os.environ["ZC_METRICS_SERVED_BY_PARENT"] = "1"
    return start_server(
        build_registry(partial(state_counts_of, open_registry(settings))), settings.metrics_port, settings.metrics_host
    )


def add_commands(commands, with_data_dir) -> None:
    serve = with_data_dir(commands.add_parser("serve", help="run the HTTP service"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--public-base-url", default=None, help="base of the verification URLs in QR codes")
    serve.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="service processes (default: one per core); each has its own render workers",
    )
    serve.set_defaults(func=cmd_serve)
