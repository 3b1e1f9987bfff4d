"""Several callers at once against one: the serving model under load.

``python -m service serve`` (embedded default, one service process, its worker pool at the
default size), then in the same run: one caller doing PNG previews of the contract's
review form (each of its own declaration: laid out, not answered from the cache of
rendered forms) and certificate issuances in turn, and four callers at once (two
previewing, two issuing). Latency per request and requests per second, and how long ``/healthz`` and
a QR scan page take meanwhile.
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.bench_install import _free_port
from bench.common import ROOT, machine, summarize, versions_line, write_results

TARGET_MIXED_MS = 300
REQUESTS_PER_CALLER = 20


def _serve(data_dir: Path, port: int):
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--workers", "1", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    key = subprocess.run(
        [sys.executable, "-m", "service", "api-keys", "create", "--role", "platform", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    return process, url, key


def _caller(url: str, key: str, kind: str, offset: int) -> list[float]:
    import json

    declaration = json.loads((ROOT / "tests/data/contract/declaration.json").read_text("utf-8"))
    request = json.loads((ROOT / "tests/data/contract/certificate-request.json").read_text("utf-8"))
    headers = {"Authorization": f"Bearer {key}"}
    times = []
    with httpx.Client(base_url=url, timeout=300, headers=headers) as client:
        for i in range(REQUESTS_PER_CALLER):
            started = time.perf_counter()
            if kind == "preview":
                # Each preview a declaration of its own, as applicants' are: the cache of
                # rendered forms does not answer it, the form is laid out.
                body = {
                    **declaration,
                    "work_summary": f"{declaration['work_summary']}（{offset}-{i}-{time.time_ns()}）",
                }
                response = client.post("/api/v1/forms/review-form?format=png&page=1", json=body)
            else:
                response = client.post(
                    "/api/v1/certificates", json={**request, "declaration_id": f"BENCH-{offset}-{i}-{time.time_ns()}"}
                )
            response.raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def _watch(url: str, path: str, stop: threading.Event) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - started)
            time.sleep(0.05)
    return times


def _scenario(url: str, key: str, callers: list[str], scan_path: str) -> dict:
    stop = threading.Event()
    with ThreadPoolExecutor(len(callers) + 2) as pool:
        health = pool.submit(_watch, url, "/healthz", stop)
        scans = pool.submit(_watch, url, scan_path, stop)
        started = time.perf_counter()
        try:
            results = [pool.submit(_caller, url, key, kind, n) for n, kind in enumerate(callers)]
            times = {kind: [] for kind in callers}
            for kind, future in zip(callers, results):
                times[kind] += future.result()
            elapsed = time.perf_counter() - started
        finally:
            stop.set()
    total = sum(len(t) for t in times.values())
    return {
        "callers": len(callers),
        "requests": total,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(total / elapsed, 2),
        **{kind: summarize(t) for kind, t in times.items()},
        "healthz": summarize(health.result()),
        "scan_page": summarize(scans.result()),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="zc-bench-conc-") as tmp:
        process, url, key = _serve(Path(tmp) / "data", _free_port())
        try:
            # warm up every worker, and make a certificate whose scan page is watched
            _caller(url, key, "preview", 0)
            issued = httpx.post(
                f"{url}/api/v1/certificates",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    **__import__("json").loads(
                        (ROOT / "tests/data/contract/certificate-request.json").read_text("utf-8")
                    ),
                    "declaration_id": "BENCH-SCAN",
                },
                timeout=120,
            ).json()
            scan_path = "/v/" + issued["verification_url"].rsplit("/v/", 1)[1]
            one = _scenario(url, key, ["preview"], scan_path)
            one_issue = _scenario(url, key, ["issue"], scan_path)
            four = _scenario(url, key, ["preview", "preview", "issue", "issue"], scan_path)
        finally:
            process.terminate()
            process.wait(timeout=30)
    results = {
        "machine": machine(),
        "requests_per_caller": REQUESTS_PER_CALLER,
        "one_caller_previews": one,
        "one_caller_issuance": one_issue,
        "four_callers": four,
    }
    write_results("concurrency", results, _markdown(results))


def _markdown(r: dict) -> str:
    m = r["machine"]

    def row(name, s, kind):
        k = s.get(kind)
        if not k:
            return None
        return (
            f"| {name} | {kind} | {k['median_ms']} | {k['p95_ms']} | {k['min_ms']}–{k['max_ms']} | "
            f"{s['requests_per_s']} | {s['healthz']['p95_ms']} | {s['scan_page']['p95_ms']} |"
        )

    rows = [
        row("1 caller", r["one_caller_previews"], "preview"),
        row("1 caller", r["one_caller_issuance"], "issue"),
        row("4 callers (2 + 2)", r["four_callers"], "preview"),
        row("4 callers (2 + 2)", r["four_callers"], "issue"),
    ]
    mixed = r["four_callers"]["issue"]["median_ms"]
    return "\n".join(
        [
            "# Concurrency benchmark",
            "",
            f"{m['date']}, {m['cpu']} ({m['cores']} cores). `python -m service serve --workers 1` (embedded default, "
            f"render workers at the default size: one per core), {r['requests_per_caller']} requests per caller: PNG "
            "previews of the contract review form (each its own declaration, laid out: not from the render cache), certificate issuances (both seals). Meanwhile `/healthz` and a QR "
            "scan page are fetched every 50 ms. Clients run on the same two cores.",
            versions_line(m),
            "",
            "| load | request | median ms | p95 ms | min–max ms | all requests/s | /healthz p95 ms | scan page p95 ms |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
            *[x for x in rows if x],
            "",
            f"Target (issue 25): issuance median ≤ {TARGET_MIXED_MS} ms under the four mixed callers: "
            f"**{mixed} ms, {'met' if mixed <= TARGET_MIXED_MS else 'not met'}** (issuance has worker processes "
            "of its own, `ZC_CERTIFICATE_PROCESSES`, beside the form workers).",
            "",
        ]
    )


if __name__ == "__main__":
    main()
