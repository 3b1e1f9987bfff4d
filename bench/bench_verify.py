"""证书查验 under load: wrk on loopback against `python -m service serve --workers 2`.

For SQLite and PostgreSQL, with the registry holding ``BENCH_VERIFY_REGISTRY``
(1,000,000) certificates, as a province's does after some seasons: 200 issued
through the API, the rest copies of one of them seeded in SQL. The QR page
`GET /v/{token}` and the JSON API, each 30 s with 64 connections, (a) with the
service's few-seconds answer cache (a printed certificate scanned again and
again) and (b) without it, rotating over tokens spread over the whole table
(every request reads the registry and renders). Then the upload check of a
two-seal (B-LTA) certificate, one request at a time.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import ROOT, baselines, checkouts, machine, summarize, versions_line, write_results

DURATION = "30s"
CONNECTIONS = 64
CERTIFICATES = 200
REGISTRY = int(os.environ.get("BENCH_VERIFY_REGISTRY", "1000000"))
ROTATION = 10_000  # tokens of the uncached rotation, spread over the whole table
SEED_CHUNK = 100_000  # seeded rows per transaction
# The issue's targets for PostgreSQL serving (production speed).
TARGET_UNCACHED_PER_S = 2000
TARGET_UNCACHED_P99_MS = 50
TARGET_CACHED_P99_MS = 30
UPLOADS = 30
# The uncached page, the target's measure: rounds of their own, each on a fresh start.
UNCACHED_ROUNDS = int(os.environ.get("BENCH_VERIFY_ROUNDS", "3"))
SETTLE_SECONDS = 10
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
                    # Measured in the steady state: the start's background warm-up (the fork
                    # servers importing the service's modules) takes a core for a few seconds.
                    time.sleep(SETTLE_SECONDS)
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
    result = {"requests_per_s": float(_found(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50", "75", "90", "99"):
        value, unit = _found(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()
        result[f"p{percentile}_ms"] = round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    return result


def _found(pattern: str, output: str) -> re.Match[str]:
    match = re.search(pattern, output)
    if match is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}:\n{output}")
    return match


def _pg_database() -> tuple[str, Callable[[], None]]:
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


# --- a registry of a province's size ---------------------------------------------------------

# What a seeded copy changes: its unique columns (schema: number+version, declaration_id+version,
# identifier and token unique; idempotency_key unique where set). Everything else, the seal
# check's result with it, is the genuine row's, so a seeded token's page is a real page.
_SEEDED = {
    "number": "'SEED' || {n}",
    "declaration_id": "'SEED-' || {n}",
    "identifier": "identifier || '.S' || {n}",
    "token": "{token}",
    "idempotency_key": "NULL",
    # each version's files are its own, as in a registry that issued them
    "pdf_sha256": "'seed-pdf-' || {n}",
    "ofd_sha256": "CASE WHEN ofd_sha256 IS NULL THEN NULL ELSE 'seed-ofd-' || {n} END",
}


def _seed_token(n: int) -> str:
    """The token of seeded row ``n``: 22 characters, spread like random ones (the index sees
    them in no order), the same on both backends."""
    return hashlib.md5(f"zc-seed-{n}".encode()).hexdigest()[:22]


def _copy_columns(engine) -> tuple[str, str]:
    """(column list, select list) copying one row with the seeded columns replaced."""
    from sqlalchemy import inspect

    columns = [c["name"] for c in inspect(engine).get_columns("certificates") if c["name"] != "id"]
    return ", ".join(columns), ", ".join(_SEEDED.get(c, c) for c in columns)


def seed_registry(url: str, template_token: str, count: int) -> dict:
    """``count`` more certificates in the registry at ``url``, each a copy of the genuine
    one behind ``template_token`` with its own number, declaration, identifier and token,
    then the planner's statistics renewed. Minutes for a million, not hours of issuing."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    started = time.perf_counter()
    try:
        columns, selected = _copy_columns(engine)
        with engine.connect() as connection:
            template = connection.execute(
                text("SELECT id FROM certificates WHERE token = :t"), {"t": template_token}
            ).scalar_one()
        for start in range(1, count + 1, SEED_CHUNK):
            rows = range(start, min(count, start + SEED_CHUNK - 1) + 1)
            if engine.dialect.name == "postgresql":
                _seed_chunk_postgresql(engine, columns, selected, template, rows)
            else:
                _seed_chunk_sqlite(engine, columns, selected, template, rows)
        seeded = time.perf_counter() - started
        _analyze(engine)
        with engine.connect() as connection:
            total = connection.execute(text("SELECT count(*) FROM certificates")).scalar_one()
    finally:
        engine.dispose()
    return {
        "certificates": total,
        "seeded": count,
        "seed_seconds": round(seeded, 1),
        "analyze_seconds": round(time.perf_counter() - started - seeded, 1),
    }


def _seed_chunk_postgresql(engine, columns: str, selected: str, template: int, rows: range) -> None:
    from sqlalchemy import text

    n = "g.n"
    select = selected.format(n=n, token=f"substr(md5('zc-seed-' || {n}), 1, 22)")
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO certificates ({columns}) SELECT {select} "
                "FROM certificates, generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g(n) WHERE certificates.id = :template"
            ),
            {"first": rows.start, "last": rows.stop - 1, "template": template},
        )


def _seed_chunk_sqlite(engine, columns: str, selected: str, template: int, rows: range) -> None:
    # SQLite has no md5(): the tokens come from here, one executemany per transaction.
    select = selected.format(n="?1", token="?2")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO certificates ({columns}) SELECT {select} FROM certificates WHERE id = ?3",
            [(n, _seed_token(n), template) for n in rows],
        )


def _analyze(engine) -> None:
    """The statistics a million new rows call for (the planner would otherwise plan for 200)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE certificates" if engine.dialect.name == "postgresql" else "ANALYZE")


def spread_tokens(url: str, count: int) -> list[str]:
    """``count`` tokens evenly spaced over the whole table by row, in a fixed shuffled
    order: the uncached rotation touches every part of the index and the table."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            last = connection.execute(text("SELECT max(id) FROM certificates")).scalar_one()
            step = max(1, last // count)
            tokens = list(
                connection.execute(
                    text("SELECT token FROM certificates WHERE id % :step = 0"), {"step": step}
                ).scalars()
            )
    finally:
        engine.dispose()
    random.Random(0).shuffle(tokens)
    return tokens


def _registry_url(data_dir: Path, env: dict) -> str:
    from service.config import Settings

    return Settings(data_dir=data_dir, database_url=env.get("DATABASE_URL")).registry_url


def _issue_genuine(server: Server, headers: dict, backend: str) -> tuple[list[str], bytes]:
    """``CERTIFICATES`` issued through the API, each viewed once (its seals validated then,
    as on a first scan). Returns their tokens and one certificate's PDF."""
    from tests.conftest import load_contract

    base = load_contract("certificate-request.json")
    tokens, sample_pdf = [], b""
    with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
        for i in range(CERTIFICATES):
            base["declaration_id"] = f"WRK-{backend}-{i:05d}"
            issued = client.post("/api/v1/certificates", json=base).json()
            tokens.append(issued["verification_url"].rsplit("/", 1)[1])
            if not sample_pdf:
                sample_pdf = client.get(issued["pdf_url"]).content
        for token in tokens:  # first views validate the seals once
            assert client.get(f"/v/{token}").status_code == 200
    return tokens, sample_pdf


def _upload_check(server: Server, headers: dict, pdf: bytes) -> dict:
    times = []
    with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
        for _ in range(UPLOADS + 2):
            start = time.perf_counter()
            answer = client.post("/api/v1/verify/upload", files={"file": ("c.pdf", pdf, "application/pdf")})
            times.append(time.perf_counter() - start)
            assert answer.status_code == 200 and answer.json()["verdict"] == "genuine_current", answer.text
    return summarize(times[2:])


def _check_rotation(server: Server, tokens: list[str]) -> None:
    """A few tokens of the rotation answered with a certificate's page, not a 404: the
    seeded rows are read as issued ones."""
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for token in tokens[:: max(1, len(tokens) // 20)]:
            answer = client.get(f"/v/{token}")
            assert answer.status_code == 200, (token, answer.status_code)


def run_backend(backend: str, tmp: Path) -> dict:
    # The benchmark is one client: lift the per-client limit on lookups and uploads.
    env = {"ZC_VERIFY_RATE_PER_MINUTE": "1000000", "ZC_VERIFY_BURST": "100000"}
    drop = None
    if backend == "postgresql":
        env["DATABASE_URL"], drop = _pg_database()
    data_dir = tmp / backend
    results: dict = {}
    try:
        server = Server(data_dir, env)
        try:
            headers = {"Authorization": f"Bearer {_key(data_dir, env, 'platform')}"}
            tokens, sample_pdf = _issue_genuine(server, headers, backend)
        finally:
            server.stop()
        url = _registry_url(data_dir, env)
        results["registry"] = seed_registry(url, tokens[0], max(0, REGISTRY - CERTIFICATES))
        rotation = spread_tokens(url, ROTATION)
        results["registry"]["rotation_tokens"] = len(rotation)
        server = Server(data_dir, env)
        try:
            results["upload_check_b_lta"] = _upload_check(server, headers, sample_pdf)
            results["page_cached_one_certificate"] = _wrk(f"{server.base}/v/{tokens[0]}")
            results["json_cached_one_certificate"] = _wrk(f"{server.base}/api/v1/verify/token/{tokens[0]}")
        finally:
            server.stop()
        uncached_env = {**env, "ZC_SCAN_CACHE_SECONDS": "0"}
        pages, apis = tmp / f"{backend}-pages.txt", tmp / f"{backend}-api.txt"
        pages.write_text("".join(f"/v/{t}\n" for t in rotation))
        apis.write_text("".join(f"/api/v1/verify/token/{t}\n" for t in rotation))
        rounds = []
        for round_ in range(UNCACHED_ROUNDS):
            # A fresh start each round: how wrk's connections fall to the two processes is
            # part of what a round measures.
            server = Server(data_dir, uncached_env)
            try:
                if round_ == 0:
                    _check_rotation(server, rotation)
                    results["json_uncached_spread"] = _wrk(server.base, apis)
                rounds.append(_wrk(server.base, pages))
            finally:
                server.stop()
        results["page_uncached_rounds"] = rounds
        results["page_uncached_spread"] = sorted(rounds, key=lambda r: r["requests_per_s"])[len(rounds) // 2]
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
    out: dict = {"refs": refs, "runs": {}}
    with checkouts(refs) as trees:
        out["runs"]["this commit"] = upload_times(ROOT, tmp / "baseline-this")
        for label, tree in trees.items():
            out["runs"][label] = upload_times(tree, tmp / f"baseline-{label}")
        out["runs"]["this commit, again"] = upload_times(ROOT, tmp / "baseline-this-again")
    return out


def main() -> None:
    results: dict = {
        "machine": machine(),
        "duration": DURATION,
        "connections": CONNECTIONS,
        "registry": REGISTRY,
        "rotation": ROTATION,
        "backends": {},
    }
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


def _targets(postgresql: dict) -> list[str]:
    """The issue's targets for PostgreSQL serving, each with what was measured."""
    if "page_uncached_spread" not in postgresql:
        return ["Targets (PostgreSQL): not measured."]
    uncached, cached = postgresql["page_uncached_spread"], postgresql["page_cached_one_certificate"]
    uncached_met = uncached["requests_per_s"] >= TARGET_UNCACHED_PER_S and uncached["p99_ms"] <= TARGET_UNCACHED_P99_MS
    cached_met = cached["p99_ms"] <= TARGET_CACHED_P99_MS
    return [
        "Targets (issue: production speed), PostgreSQL:",
        "",
        f"- `GET /v/{{token}}` uncached ≥ {TARGET_UNCACHED_PER_S:,} requests/s with p99 ≤ {TARGET_UNCACHED_P99_MS} ms: "
        f"**{uncached['requests_per_s']:.0f}/s, p99 {uncached['p99_ms']} ms, {'met' if uncached_met else 'not met'}**.",
        f"- `GET /v/{{token}}` cached p99 ≤ {TARGET_CACHED_P99_MS} ms: "
        f"**p99 {cached['p99_ms']} ms, {'met' if cached_met else 'not met'}**.",
    ]


def _markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Verification benchmark",
        "",
        f"{m['date']}, {m['cpu']} ({m['cores']} cores). `wrk -t2 -c{CONNECTIONS} -d{DURATION} --latency` on loopback "
        "against `python -m service serve --workers 2` (uvicorn, access log on, each process listening on a socket of its own), measured from 10 s after it answers `/healthz` (its start-up warm-up done); wrk shares the two cores. "
        f"The registry holds {results['registry']:,} certificates ({CERTIFICATES} issued through the API, the rest "
        "copies of one of them seeded in SQL with their own number, declaration, identifier and token; then "
        "`ANALYZE`, on PostgreSQL `VACUUM ANALYZE`). "
        "*cached*: one certificate scanned over and over, answered from the service's few-seconds cache; "
        f"*uncached*: the cache off (`ZC_SCAN_CACHE_SECONDS=0`), rotating over {ROTATION:,} tokens spread evenly over "
        "the whole table, so every request reads the registry and renders the page; the uncached page in "
        f"{UNCACHED_ROUNDS} rounds, each on a fresh start of the service (the table shows the median round, "
        "the rounds are listed below it). The seeded copies share their template's QR payload: the JSON "
        "API's decoding of it is cached here, as it would not be for distinct certificates (the page decodes none).",
        versions_line(m),
        "",
        "| backend | endpoint | requests/s | p50 ms | p75 ms | p90 ms | p99 ms | non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "page_cached_one_certificate": "`GET /v/{token}` cached",
        "json_cached_one_certificate": "JSON API cached",
        "page_uncached_spread": "`GET /v/{token}` uncached",
        "json_uncached_spread": "JSON API uncached",
    }
    uploads, seeding = [], []
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
        g = data["registry"]
        seeding.append(
            f"{backend}: {g['certificates']:,} certificates, {g['seeded']:,} seeded in {g['seed_seconds']} s, "
            f"statistics in {g['analyze_seconds']} s."
        )
        u = data["upload_check_b_lta"]
        uploads.append(f"| {backend} | {u['runs']} | {u['median_ms']} | {u['p95_ms']} | {u['min_ms']}–{u['max_ms']} |")
    lines += ["", "Uncached page, every round (requests/s, p99 ms):", ""]
    for backend, data in results["backends"].items():
        if "page_uncached_rounds" in data:
            shown = "; ".join(f"{r['requests_per_s']:.0f}/s, p99 {r['p99_ms']}" for r in data["page_uncached_rounds"])
            lines.append(f"- {backend}: {shown}")
    lines += ["", *_targets(results["backends"].get("postgresql", {})), "", "Seeding: " + " ".join(seeding)]
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
