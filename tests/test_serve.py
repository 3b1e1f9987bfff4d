"""The service starts from the command line on the embedded default."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from service.config import Settings
from tests.conftest import load_contract, make_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_and_answers(tmp_path):
    port = free_port()
    data_dir = tmp_path / "served"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline, "the service did not start within 60 s"
                time.sleep(0.3)
        assert response.json() == {"status": "ok"}
        assert (data_dir / "registry.sqlite3").is_file()  # everything it writes is under the data dir
        docs = httpx.get(f"http://127.0.0.1:{port}/docs")
        assert docs.status_code == 200
        assert "server" not in docs.headers  # no "Server: uvicorn" telling what runs here
        assert "https://" not in docs.text and "//cdn" not in docs.text  # the explorer loads nothing from outside
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "start.js"):
            assert httpx.get(f"http://127.0.0.1:{port}/docs/assets/{asset}").status_code == 200
        key = make_key(Settings(data_dir=data_dir), "platform")
        rendered = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/forms/review-form",
            json=load_contract("declaration.json"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert rendered.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = server.stdout.read().decode(errors="replace")
    assert "OK        shipped fonts" in log  # the doctor's checks ran at start-up
    assert "weasyprint.progress" not in log and "Step " not in log  # WeasyPrint's chatter stays out
