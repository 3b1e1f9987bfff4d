"""``serve``: the doctor's checks, then the HTTP service (uvicorn, one or more processes)."""

from __future__ import annotations

import argparse
import logging
import os

from service.cli.common import CliError, settings_from_args
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
        raise CliError("cannot serve: " + "; ".join(f"{c.name}: {c.detail}" for c in fatal)
                       + " (python -m service doctor shows every check)")


# proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any local peer
# as the client's address; the service decides that itself (ZC_TRUSTED_PROXIES).
# server_header=False: no "Server: uvicorn" telling every visitor what to attack.


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.services import build_services
    from service.workers.pool import default_size
    from service.runtime import tune_gc

    tune_gc()
    settings = settings_from_args(args)
    check_before_serving(settings)
    if args.public_base_url is None and settings.public_base_url == "http://127.0.0.1:8000":
        settings = settings.model_copy(update={"public_base_url": f"http://{args.host}:{args.port}"})
    elif args.public_base_url:
        settings = settings.model_copy(update={"public_base_url": args.public_base_url})
    if args.workers <= 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", proxy_headers=False,
                    server_header=False)
        return 0
    # Several processes: migrate the registry and create the development keys
    # once, here, so that the workers do not race to do it; the cores are shared out
    # between their render workers.
    build_services(settings).close()
    os.environ.update({"ZC_DATA_DIR": str(settings.data_dir.resolve()), "ZC_PUBLIC_BASE_URL": settings.public_base_url,
                       "ZC_WORK_PROCESSES": str(default_size(settings, args.workers))})
    uvicorn.run("service.app:create_app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", proxy_headers=False, server_header=False)
    return 0


def add_commands(commands, with_data_dir) -> None:
    serve = with_data_dir(commands.add_parser("serve", help="run the HTTP service"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--public-base-url", default=None, help="base of the verification URLs in QR codes")
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="service processes (default: one per core); each has its own render workers")
    serve.set_defaults(func=cmd_serve)
