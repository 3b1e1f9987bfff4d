"""Children die with their supervisor: SIGKILL of ``serve`` (a crashing supervisor, the
OOM killer) leaves no uvicorn process, fork server or worker behind, busy or idle, and a
new ``serve`` takes the port at once."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from tests.conftest import load_contract
from tests.served import _descendants, free_port, serve


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("workers", ["1", "2"])
def test_no_process_of_the_service_outlives_a_killed_serve(tmp_path, workers):
    served = serve(tmp_path, "--workers", workers)
    staff = served.key("staff")
    rows = load_contract("publicity-pre-review.json")
    rows["rows"] = rows["rows"] * (3000 // len(rows["rows"]) + 1)
    busy = threading.Thread(
        target=lambda: _quietly(
            lambda: httpx.post(
                f"{served.url}/api/v1/forms/publicity",
                json=rows,
                headers={"Authorization": f"Bearer {staff}"},
                timeout=120,
            )
        )
    )
    busy.start()
    time.sleep(2)  # a worker is laying out the long table now
    tree = _descendants(served.process.pid)
    assert len(tree) >= 3, tree  # fork server and workers at least
    os.kill(served.process.pid, signal.SIGKILL)
    served.process.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in tree if _alive(pid)]
    described = {pid: _describe(pid) for pid in left}
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"alive 5 s after the supervisor's SIGKILL: {described}"
    busy.join(timeout=30)


def test_a_new_serve_takes_the_port_of_a_killed_one(tmp_path):
    port = free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = serve(tmp_path / "a", "--workers", "2", port=port)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    second = serve(tmp_path / "b", "--workers", "2", port=port, wait=60)
    try:
        assert httpx.get(f"{second.url}/healthz", timeout=5).status_code == 200
    finally:
        second.stop()


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def _quietly(call) -> None:
    try:
        call()
    except httpx.HTTPError:
        pass  # the service was killed under it: that is the point
