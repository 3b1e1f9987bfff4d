"""Children die with their supervisor: SIGKILL of ``serve`` (a crashing supervisor, the
OOM killer) leaves no uvicorn process, fork server or worker behind, busy or idle, and a
new ``serve`` takes the port at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import load_contract
from tests.served import ROOT, _descendants, free_port, serve


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


def _sockets_of(pid: int) -> set[int]:
    """The socket inodes among the open files of process ``pid``."""
    inodes: set[int] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes  # gone meanwhile
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp_sockets(port: int) -> dict[int, str]:
    """inode -> state ('0A' listening, '01' established) of the IPv4 sockets on local ``port``."""
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            found[int(fields[9])] = fields[3]
    return found


def test_each_process_listens_on_a_socket_of_its_own_and_the_kernel_shares_connections_out(tmp_path):
    served = serve(tmp_path, "--workers", "2")
    port = int(served.url.rsplit(":", 1)[1])
    clients = []
    try:
        for _ in range(200):  # kept open, as a reverse proxy's upstream pool keeps them
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(64).startswith(b"HTTP/1.1 200"), "no answer"
            clients.append(client)
        sockets = _tcp_sockets(port)
        listening, held = {}, {}
        for pid in [served.process.pid, *_descendants(served.process.pid)]:
            mine = _sockets_of(pid) & sockets.keys()
            listening[pid] = [inode for inode in mine if sockets[inode] == "0A"]
            held[pid] = sum(1 for inode in mine if sockets[inode] == "01")
        listeners = {pid: inodes for pid, inodes in listening.items() if inodes}
        # two processes, a listening socket each (not one socket shared by the supervisor's children)
        assert len(listeners) == 2 and all(len(inodes) == 1 for inodes in listeners.values()), listening
        assert served.process.pid not in listeners
        counts = sorted(held[pid] for pid in listeners)
        # 200 connections hashed to two sockets: far from an even split only by a 1e-8 chance
        assert sum(counts) == 200 and counts[0] >= 60, counts
    finally:
        for client in clients:
            client.close()
        served.stop()


def test_a_second_serve_on_a_port_in_use_is_refused_and_says_so(tmp_path):
    (tmp_path / "a").mkdir()
    first = serve(tmp_path / "a", "--workers", "2")
    port = first.url.rsplit(":", 1)[1]
    try:
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "service",
                "serve",
                "--workers",
                "2",
                "--port",
                port,
                "--data-dir",
                str(tmp_path / "b"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0 and f"cannot serve on 127.0.0.1:{port}" in second.stderr, second.stderr[-2000:]
        assert httpx.get(f"{first.url}/healthz", timeout=5).status_code == 200  # the first one serves on
    finally:
        first.stop()
