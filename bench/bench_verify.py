"""证书查验 under load: wrk on loopback against `python -m service serve --workers 2`.

For SQLite and PostgreSQL: the QR page `GET /v/{token}` and the JSON API, each
30 s with 64 connections, (a) with the service's few-seconds answer cache (a
printed certificate scanned again and again) and (b) without it, rotating
over 200 certificates (every request reads the registry and renders). Then
the upload check of a two-seal (B-LTA) certificate, one request at a time.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, baselines, checkouts, machine, summarize, versions_line, write_results

DURATION = "30s"
CONNECTIONS = 64
CERTIFICATES = 200
UPLOADS = 30
PG_ADMIN = os.environ.get("DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

ROTATE_LUA = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, env: dict, cwd: Path = ROOT):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                "2",
                "--data-dir",
                str(data_dir),
            ],
            cwd=cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def _key(data_dir: Path, env: dict, role: str, cwd: Path = ROOT) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "service", "api-keys", "create", "--role", role, "--data-dir", str(data_dir)],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _wrk(url: str, paths_file: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    env = dict(os.environ)
    if paths_file is not None:
        script = paths_file.with_suffix(".lua")
        script.write_text(ROTATE_LUA)
        command[1:1] = ["-s", str(script)]
        env["WRK_PATHS"] = str(paths_file)
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    result = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50", "75", "90", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()
        result[f"p{percentile}_ms"] = round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    return result


def _pg_database() -> tuple[str, callable]:
    import uuid

    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"zc_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def run_backend(backend: str, tmp: Path) -> dict:
    from tests.conftest import load_contract

    # The benchmark is one client: lift the per-client limit on lookups and uploads.
    env = {"ZC_VERIFY_RATE_PER_MINUTE": "1000000", "ZC_VERIFY_BURST": "100000"}
    drop = None
    if backend == "postgresql":
        env["DATABASE_URL"], drop = _pg_database()
    data_dir = tmp / backend
    results = {}
    try:
        server = Server(data_dir, env)
        try:
            headers = {"Authorization": f"Bearer {_key(data_dir, env, 'platform')}"}
            base = load_contract("certificate-request.json")
            tokens, sample_pdf = [], None
            with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
                for i in range(CERTIFICATES):
                    base["declaration_id"] = f"WRK-{backend}-{i:05d}"
                    issued = client.post("/api/v1/certificates", json=base).json()
                    tokens.append(issued["verification_url"].rsplit("/", 1)[1])
                    if sample_pdf is None:
                        sample_pdf = client.get(issued["pdf_url"]).content
                for token in tokens:  # first views validate the seals once
                    assert client.get(f"/v/{token}").status_code == 200
                upload_times = []
                for _ in range(UPLOADS + 2):
                    start = time.perf_counter()
                    answer = client.post(
                        "/api/v1/verify/upload", files={"file": ("c.pdf", sample_pdf, "application/pdf")}
                    )
                    upload_times.append(time.perf_counter() - start)
                    assert answer.status_code == 200 and answer.json()["verdict"] == "genuine_current", answer.text
            results["upload_check_b_lta"] = summarize(upload_times[2:])
            results["page_cached_one_certificate"] = _wrk(f"{server.base}/v/{tokens[0]}")
            results["json_cached_one_certificate"] = _wrk(f"{server.base}/api/v1/verify/token/{tokens[0]}")
        finally:
            server.stop()
        uncached_env = {**env, "ZC_SCAN_CACHE_SECONDS": "0"}
        server = Server(data_dir, uncached_env)
        try:
            pages, apis = tmp / f"{backend}-pages.txt", tmp / f"{backend}-api.txt"
            pages.write_text("".join(f"/v/{t}\n" for t in tokens))
            apis.write_text("".join(f"/api/v1/verify/token/{t}\n" for t in tokens))
            results["page_uncached_200_certificates"] = _wrk(server.base, pages)
            results["json_uncached_200_certificates"] = _wrk(server.base, apis)
        finally:
            server.stop()
    finally:
        if drop is not None:
            drop()
    return results


def upload_times(tree: Path, data_dir: Path) -> dict:
    """The upload check of a certificate the checkout ``tree`` issued itself (SQLite), one at a time."""
    from tests.conftest import load_contract

    env = {"ZC_VERIFY_RATE_PER_MINUTE": "1000000", "ZC_VERIFY_BURST": "100000"}
    server = Server(data_dir, env, cwd=tree)
    try:
        headers = {"Authorization": f"Bearer {_key(data_dir, env, 'platform', cwd=tree)}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
            issued = client.post("/api/v1/certificates", json=load_contract("certificate-request.json")).json()
            pdf = client.get(issued["pdf_url"]).content
            times = []
            for _ in range(UPLOADS + 2):
                start = time.perf_counter()
                answer = client.post("/api/v1/verify/upload", files={"file": ("c.pdf", pdf, "application/pdf")})
                times.append(time.perf_counter() - start)
                assert answer.status_code == 200 and answer.json()["verdict"] == "genuine_current", answer.text
    finally:
        server.stop()
    return summarize(times[2:])


def compare_uploads(refs: dict[str, str], tmp: Path) -> dict:
    """Upload checks by earlier commits beside this one (measured before and after them)."""
    out = {"refs": refs, "runs": {}}
    with checkouts(refs) as trees:
        out["runs"]["this commit"] = upload_times(ROOT, tmp / "baseline-this")
        for label, tree in trees.items():
            out["runs"][label] = upload_times(tree, tmp / f"baseline-{label}")
        out["runs"]["this commit, again"] = upload_times(ROOT, tmp / "baseline-this-again")
    return out


def main() -> None:
    results = {"machine": machine(), "duration": DURATION, "connections": CONNECTIONS, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        refs = baselines()
        if refs:
            results["upload_baselines"] = compare_uploads(refs, Path(tmp))
        for backend in ("sqlite", "postgresql"):
            try:
                results["backends"][backend] = run_backend(backend, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - report what could not be measured
                results["backends"][backend] = {"error": f"{type(exc).__name__}: {exc}"}
    write_results("verify", results, _markdown(results))


def _markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Verification benchmark",
        "",
        f"{m['date']}, {m['cpu']} ({m['cores']} cores). `wrk -t2 -c{CONNECTIONS} -d{DURATION} --latency` on loopback "
        "against `python -m service serve --workers 2` (uvicorn, access log on); wrk shares the two cores. "
        "*cached*: one certificate scanned over and over, answered from the service's few-seconds cache; "
        f"*uncached*: the cache off, rotating over {CERTIFICATES} certificates, so every request reads the registry "
        "and renders the page.",
        versions_line(m),
        "",
        "| backend | endpoint | requests/s | p50 ms | p75 ms | p90 ms | p99 ms | non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "page_cached_one_certificate": "`GET /v/{token}` cached",
        "json_cached_one_certificate": "JSON API cached",
        "page_uncached_200_certificates": "`GET /v/{token}` uncached",
        "json_uncached_200_certificates": "JSON API uncached",
    }
    uploads = []
    for backend, data in results["backends"].items():
        if "error" in data:
            lines.append(f"| {backend} | not measured: {data['error']} | | | | | | |")
            continue
        for key, label in labels.items():
            r = data[key]
            lines.append(
                f"| {backend} | {label} | {r['requests_per_s']:.0f} | {r['p50_ms']} | {r['p75_ms']} | "
                f"{r['p90_ms']} | {r['p99_ms']} | {r['non_2xx']} |"
            )
        u = data["upload_check_b_lta"]
        uploads.append(f"| {backend} | {u['runs']} | {u['median_ms']} | {u['p95_ms']} | {u['min_ms']}–{u['max_ms']} |")
    lines += [
        "",
        "Upload check of a two-seal B-LTA certificate (`POST /api/v1/verify/upload`, one at a time):",
        "",
        "| backend | runs | median ms | p95 ms | min–max ms |",
        "|---|---:|---:|---:|---:|",
        *uploads,
        "",
    ]
    if "upload_baselines" in results:
        base = results["upload_baselines"]
        refs = ", ".join(f"`{label}` = {ref}" for label, ref in base["refs"].items())
        lines += [
            f"The same upload check beside earlier commits ({refs}; SQLite, each checkout issuing its own "
            "certificate; this commit measured before and after them):",
            "",
            "| commit | runs | median ms | p95 ms | min–max ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, u in base["runs"].items():
            lines.append(f"| {label} | {u['runs']} | {u['median_ms']} | {u['p95_ms']} | {u['min_ms']}–{u['max_ms']} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
