"""README command 1 against the test setup: the same speed?

A clean clone of the committed tree is set up with ``bash scripts/setup.sh`` (what a
province's operations team runs), its service started, and the contract's review form
rendered over HTTP; then the same with this checkout's test setup (``.venv``, set up by
``scripts/setup.sh --test``), in the same run. Both medians side by side, with what
``python -m service doctor`` says of the production setup.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, machine, summarize, versions_line, write_results

RUNS = 25
DECLARATION = ROOT / "tests" / "data" / "contract" / "declaration.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _measure(python: Path, cwd: Path, data_dir: Path) -> dict:
    key = subprocess.run(
        [python, "-m", "service", "api-keys", "create", "--role", "platform", "--data-dir", str(data_dir)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [python, "-m", "service", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{url}/healthz", timeout=2).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{python} serve did not start") from None
                time.sleep(0.3)
        body = DECLARATION.read_bytes()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        times = []
        with httpx.Client(base_url=url, timeout=120) as client:
            for index in range(RUNS + 1):
                started = time.perf_counter()
                response = client.post("/api/v1/forms/review-form", content=body, headers=headers)
                response.raise_for_status()
                if index:  # the first request warms the process up
                    times.append(time.perf_counter() - started)
        return {"health": health, **summarize(times)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="zc-install-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.monotonic()
        subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, check=True, capture_output=True)
        setup_seconds = round(time.monotonic() - started, 1)
        python = clone / ".venv" / "bin" / "python"
        doctor = subprocess.run(
            [python, "-m", "service", "doctor", "--data-dir", str(Path(tmp) / "doctor")],
            cwd=clone,
            capture_output=True,
            text=True,
        )
        production = _measure(python, clone, Path(tmp) / "prod-data")
        tested = _measure(ROOT / ".venv" / "bin" / "python", ROOT, Path(tmp) / "test-data")
    results = {
        "machine": machine(),
        "runs": RUNS,
        "setup_seconds": setup_seconds,
        "doctor_exit": doctor.returncode,
        "doctor": doctor.stdout.splitlines(),
        "readme_command_1": production,
        "test_setup": tested,
        "ratio": round(production["median_ms"] / tested["median_ms"], 2),
    }
    write_results("install", results, _markdown(results))


def _markdown(r: dict) -> str:
    m = r["machine"]
    rows = [
        f"| {name} | {s['health']['status']} | {s['median_ms']} | {s['p95_ms']} | {s['min_ms']}–{s['max_ms']} "
        f"| {s['iqr_ms']} |"
        for name, s in (
            ("README command 1 (clean clone, scripts/setup.sh)", r["readme_command_1"]),
            ("test setup (scripts/setup.sh --test)", r["test_setup"]),
        )
    ]
    return "\n".join(
        [
            "# Install benchmark: production setup against test setup",
            "",
            f"{m['date']}, {m['cpu']} ({m['cores']} cores). The contract's review form, `POST /api/v1/forms/review-form` "
            f"over loopback, {r['runs']} requests after one warm-up, each setup's own `python -m service serve`, one "
            f"after the other in the same run. The clean clone's `scripts/setup.sh` took {r['setup_seconds']} s.",
            versions_line(m),
            "",
            "| setup | /healthz | median ms | p95 ms | min–max ms | IQR ms |",
            "|---|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"Production median / test median: **{r['ratio']}**. `python -m service doctor` on the production setup "
            f"(exit {r['doctor_exit']}):",
            "",
            "```",
            *r["doctor"],
            "```",
            "",
        ]
    )


if __name__ == "__main__":
    main()
