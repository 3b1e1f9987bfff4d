"""Issuance end to end over HTTP: render + two seals (B-T) + registry, against a real server.

The service runs in its own process (uvicorn, embedded default, SQLite, a
fresh data dir); requests come from this process over loopback.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, baselines, checkouts, machine, summarize, versions_line, write_results

TIMED = 60
LONG_RUN = 1000
TARGET_MEDIAN_MS, TARGET_P95_MS = 100, 150


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _start(data_dir: Path, port: int, env: dict, cwd: Path = ROOT) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the service did not start")


def _key(data_dir: Path, env: dict, cwd: Path = ROOT) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "service", "api-keys", "create", "--role", "platform", "--data-dir", str(data_dir)],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def measure(cwd: Path = ROOT, long_run: int = LONG_RUN) -> dict:
    """The timed issuances (and ``long_run`` more in a row, for the time and the server's
    memory over a thousand) against a server run from ``cwd``."""
    from tests.conftest import load_contract

    env = {"ZC_SEAL_LEVEL": "B-T"}
    base = load_contract("certificate-request.json")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = _free_port()
        server = _start(data_dir, port, env, cwd)
        try:
            headers = {"Authorization": f"Bearer {_key(data_dir, env, cwd)}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:

                def issue(i: int) -> None:
                    body = copy.deepcopy(base)
                    body["declaration_id"] = f"BENCH-{i:07d}"
                    response = client.post("/api/v1/certificates", json=body)
                    assert response.status_code == 201, response.text

                for i in range(5):  # warm-up: fonts, templates, keys, styles
                    issue(i)
                times = []
                for i in range(5, 5 + TIMED):
                    start = time.perf_counter()
                    issue(i)
                    times.append(time.perf_counter() - start)
                rss_before = _rss_mb(server.pid)
                start = time.perf_counter()
                for i in range(10_000, 10_000 + long_run):
                    issue(i)
                long_seconds = time.perf_counter() - start
                rss_after = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    out: dict = {"issue_b_t": summarize(times)}
    if long_run:
        out["long_run"] = {
            "issuances": long_run,
            "seconds": round(long_seconds, 1),
            "per_issuance_ms": round(long_seconds / long_run * 1000, 1),
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_after,
            "rss_growth_mb": round(rss_after - rss_before, 1),
        }
    return out


def main() -> None:
    refs = baselines()
    runs = {"this commit": measure()}
    if refs:  # the earlier commits between two runs of this one: a drift of the machine shows
        with checkouts(refs) as trees:
            for label, tree in trees.items():
                runs[label] = measure(tree, long_run=0)
        runs["this commit, again"] = measure(long_run=0)
    this = runs["this commit"]
    results = {
        "machine": machine(),
        "issue_b_t": this["issue_b_t"],
        "long_run": this["long_run"],
        "runs": {label: run["issue_b_t"] for label, run in runs.items()},
        "baselines": refs,
    }
    lr, r = results["long_run"], results["issue_b_t"]
    met = r["median_ms"] <= TARGET_MEDIAN_MS and r["p95_ms"] <= TARGET_P95_MS
    markdown = "\n".join(
        [
            "# Issuance benchmark",
            "",
            f"{results['machine']['date']}, {results['machine']['cpu']} ({results['machine']['cores']} cores). "
            "`POST /api/v1/certificates` over loopback HTTP to `python -m service serve` (embedded default: SQLite, "
            "development PKI and TSA), the contract request with a new declaration_id each time: validation, number, "
            "photo, QR code, render, both seals at B-T, file store, registry. One request at a time.",
            versions_line(results["machine"]),
            "",
            "| case | runs | median ms | p95 ms | min–max ms | IQR ms |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| issue, both seals B-T: {label}{f' ({refs[label]})' if label in refs else ''} | {r['runs']} "
                f"| {r['median_ms']} | {r['p95_ms']} | {r['min_ms']}–{r['max_ms']} | {r['iqr_ms']} |"
                for label, r in results["runs"].items()
            ),
            "",
            f"Target (issue 25, one caller, a quiet machine): median ≤ {TARGET_MEDIAN_MS} ms, p95 ≤ {TARGET_P95_MS} ms: "
            f"{'met' if met else 'not met'} by this commit (median {r['median_ms']}, p95 {r['p95_ms']}).",
            "",
            f"{lr['issuances']} issuances in a row: {lr['seconds']} s ({lr['per_issuance_ms']} ms each); server RSS "
            f"{lr['rss_before_mb']} MB before, {lr['rss_after_mb']} MB after (growth {lr['rss_growth_mb']} MB).",
            "",
        ]
    )
    write_results("issue", results, markdown)


if __name__ == "__main__":
    main()
