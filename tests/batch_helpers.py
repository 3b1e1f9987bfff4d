"""Helpers for the batch tests that run against real service and worker processes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tests.conftest import load_contract
from tests.served import Served, _descendants

COMMITTEE = ("430001", "湖南省工程技术中级专业技术职务任职资格评审委员会")


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def request_for(declaration_id: str) -> dict:
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    body["committee"]["code"], body["committee"]["name"] = COMMITTEE
    return body


def wait_for(url: str, key: str, job_id: str, timeout: float = 600, until=None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{url}/api/v1/batches/{job_id}", headers=auth(key), timeout=30).json()
        if status["state"] in ("done", "failed", "cancelled") or (until and until(status)):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def pending_certificates(service: Served, keys: dict, count: int, prefix: str) -> list[str]:
    """``count`` pending_seal certificates of a committee without a key, issued as one job."""
    assert (
        service.cli(
            "orgs", "add", "--code", COMMITTEE[0], "--name", COMMITTEE[1], "--role", "committee", "--no-key"
        ).returncode
        == 0
    )
    lines = "\n".join(json.dumps(request_for(f"{prefix}-{i:05d}"), ensure_ascii=False) for i in range(count))
    created = httpx.post(
        f"{service.url}/api/v1/batches",
        content=lines.encode(),
        timeout=60,
        headers={**auth(keys["platform"]), "Content-Type": "application/x-ndjson"},
    )
    assert created.status_code == 202, created.text
    status = wait_for(service.url, keys["staff"], created.json()["id"])
    assert status["done"] == count, status
    archive_numbers = [f["number"] for f in _manifest(service.url, keys["staff"], status["id"])]
    return archive_numbers


def _manifest(url: str, key: str, job_id: str) -> list[dict]:
    import io
    import zipfile

    archive = httpx.get(f"{url}/api/v1/batches/{job_id}/archive", headers=auth(key), timeout=120)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        return json.loads(files.read("manifest.json"))["certificates"]


def niced_workers(pid: int) -> list[int]:
    """Batch worker processes under ``pid``: the ones running at a lower priority."""
    found = []
    for child in _descendants(pid):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[16]) > 0:  # field 19 of /proc/pid/stat: nice
            found.append(child)
    return found


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
