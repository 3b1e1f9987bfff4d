"""Every certificate of a batch job in one file, one per page, in the job's order: what an
organisation without an e-seal yet prints to stamp by hand (the Anhui manual: 「由组建单位统一
下载盖章后再下发」). A worker task: the file is written in the print runs' folder and streamed
by the API, never sent back whole through the worker's pipe."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from service.documents.assemble import Part
from service.errors import Conflict
from service.forms.booklet import PrintedRun, write_run
from service.forms.spec import RenderContext
from service.registry import batches as repo
from service.registry import certificate_queries as queries
from service.workers.tasks import worker_task

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services


@worker_task("batch-print")
def print_job(services: Services, job_id: str, duplex: bool | None, manifest: bool, directory: str) -> PrintedRun:
    with services.sessions() as session:
        job = repo.get_job(session, job_id)
        items = repo.results(session, job_id)
        numbers = {i.number for i in items if i.number is not None}
        holders = queries.holder_names(session, numbers)
        created = job.created_at.date() if job is not None else date(2000, 1, 1)
        files = [
            (f"{i.number}　{holders.get(i.number, '')}".strip(), i.pdf_sha256)
            for i in items
            if i.pdf_sha256 and i.number is not None
        ]
    if not files:
        raise Conflict(f"任务 {job_id} 还没有生成任何证书文件，稍后再试")

    def parts() -> Iterator[Part]:
        for title, digest in files:
            yield Part(title, services.files.get(digest))

    settings = services.settings
    ctx = RenderContext(settings.fonts_dir, profile=services.profile, duplex=duplex)
    target = Path(directory) / f"batch-{job_id}-{secrets.token_hex(6)}.pdf"
    try:
        run = write_run(
            services.renderer,
            parts(),
            ctx,
            target,
            orientation="landscape",  # the certificate's sheet
            day=created,
            manifest=manifest,
            title=f"批量任务 {job_id} 证书（供盖章打印）",
            part_label="证书编号　持证人",
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return run.printed()
