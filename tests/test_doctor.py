"""``python -m service doctor`` and the start-up checks: each verdict, each seam."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

from service import checks
from service.checks import DEGRADED, MISSING, OK
from service.config import Settings


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- HarfBuzz ---------------------------------------------------------------------------


def test_harfbuzz_subsetting_is_available_here():
    check = checks.check_harfbuzz_subsetting()
    assert check.verdict == OK, check.detail


def test_harfbuzz_subsetting_missing_is_degraded_not_fatal():
    seen = SimpleNamespace(harfbuzz_subset=None, harfbuzz=None)
    check = checks.check_harfbuzz_subsetting(seen)
    assert check.verdict == DEGRADED
    assert "libharfbuzz-subset0" in check.detail
    assert not check.fatal


def test_old_harfbuzz_is_degraded():
    old = SimpleNamespace(hb_version_atleast=lambda *version: version <= (3, 0, 0))
    check = checks.check_harfbuzz_subsetting(SimpleNamespace(harfbuzz_subset=object(), harfbuzz=old))
    assert check.verdict == DEGRADED and "4.1" in check.detail


# --- fonts ------------------------------------------------------------------------------


def test_shipped_fonts_ok(settings):
    check = checks.check_shipped_fonts(settings)
    assert check.verdict == OK, check.detail
    assert "4 shipped faces" in check.detail


def test_missing_face_is_fatal(tmp_path, settings):
    fonts = tmp_path / "fonts"
    shutil.copytree(settings.fonts_dir, fonts, ignore=shutil.ignore_patterns("HanaMinB.ttf", "data", "*.py"))
    check = checks.check_shipped_fonts(settings.model_copy(update={"fonts_dir": fonts}))
    assert check.verdict == MISSING and check.fatal
    assert "HanaMinB.ttf" in check.detail


def test_host_fonts_visible_is_fatal(settings):
    host = [settings.fonts_dir / "NotoSerifSC-Regular.otf", Path("/usr/share/fonts/opentype/noto/NotoSerifCJK.ttc")]
    check = checks.check_shipped_fonts(settings, visible_fonts=lambda: host)
    assert check.verdict == MISSING and check.fatal
    assert "NotoSerifCJK.ttc" in check.detail


def test_no_font_visible_is_fatal(settings):
    check = checks.check_shipped_fonts(settings, visible_fonts=lambda: [])
    assert check.verdict == MISSING and "no font" in check.detail


def test_probe_that_loses_rare_characters_is_fatal(settings):
    from datetime import datetime

    from service.documents.render import PdfOptions, Renderer

    def render_without_fallback() -> bytes:
        renderer = Renderer(settings.templates_dir, settings.fonts_dir)
        html = '<html lang="zh-CN"><body><p>职称评审 刘 王</p></body></html>'
        return renderer.html_to_pdf(
            html,
            template="forms/probe.html",
            options=PdfOptions(date=datetime(2024, 1, 1, tzinfo=UTC), pdf_variant=None),
        )

    check = checks.check_shipped_fonts(settings, render=render_without_fallback)
    assert check.verdict == MISSING and "䶮" in check.detail


def test_failing_probe_render_is_fatal(settings):
    def broken() -> bytes:
        raise OSError("cannot load library 'libpango-1.0-0'")

    check = checks.check_shipped_fonts(settings, render=broken)
    assert check.verdict == MISSING and "libpango" in check.detail


# --- data, database, keys, TSA --------------------------------------------------------------


def test_pdfium_ok():
    assert checks.check_pdfium().verdict == OK


def test_data_dir_fresh_and_existing(tmp_path):
    fresh = checks.check_data_dir(Settings(data_dir=tmp_path / "new" / "data"))
    assert fresh.verdict == OK and "created at first start" in fresh.detail
    (tmp_path / "there").mkdir()
    assert checks.check_data_dir(Settings(data_dir=tmp_path / "there")).verdict == OK


def test_data_dir_under_a_file_is_missing(tmp_path):
    (tmp_path / "afile").write_text("x")
    check = checks.check_data_dir(Settings(data_dir=tmp_path / "afile" / "data"))
    assert check.verdict == MISSING and check.fatal


def test_database_fresh_then_migrated(settings):
    assert "created and migrated at first start" in checks.check_database(settings).detail
    from service.registry.db import open_registry

    open_registry(settings)
    check = checks.check_database(settings)
    assert check.verdict == OK and checks.schema_head() in check.detail


def test_database_unreachable_is_fatal(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    check = checks.check_database(Settings(data_dir=tmp_path, database_url=url))
    assert check.verdict == MISSING and check.fatal and "unreachable" in check.detail


def test_database_from_a_newer_release_is_fatal(settings):
    from sqlalchemy import create_engine, text

    from service.registry.db import open_registry

    open_registry(settings)
    engine = create_engine(settings.registry_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    check = checks.check_database(settings)
    assert check.verdict == MISSING and "newer" in check.detail


def test_database_url_from_either_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("ZC_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://a@h/plain")
    assert Settings().registry_url.endswith("/plain")
    monkeypatch.setenv("ZC_DATABASE_URL", "postgresql+psycopg://a@h/prefixed")
    assert Settings().registry_url.endswith("/prefixed")


def test_seal_keys_fresh_then_loaded(settings):
    assert checks.check_seal_keys(settings).verdict == OK
    from datetime import UTC, datetime

    from service.registry.db import open_registry
    from service.sealing.orgs import ensure_dev_keys

    ensure_dev_keys(settings, open_registry(settings), datetime.now(UTC))
    check = checks.check_seal_keys(settings)
    assert check.verdict == OK and "2 organisations with keys" in check.detail


def test_seal_key_that_does_not_open_is_fatal(settings, tmp_path):
    from datetime import UTC, datetime

    from service.registry.db import open_registry, transaction
    from service.registry.orgs import add_org

    with transaction(open_registry(settings)) as session:
        add_org(
            session,
            "430001",
            "湖南省某评委会",
            "committee",
            datetime.now(UTC),
            key_source={"kind": "pem", "key_path": str(tmp_path / "gone.key"), "cert_path": str(tmp_path / "gone.pem")},
        )
    check = checks.check_seal_keys(settings)
    assert check.verdict == MISSING and check.fatal and "430001" in check.detail


def test_no_organisations_without_dev_pki_is_degraded(tmp_path):
    check = checks.check_seal_keys(Settings(data_dir=tmp_path / "d", dev_pki=False))
    assert check.verdict == DEGRADED and "pending_seal" in check.detail


def test_tsa(tmp_path):
    assert checks.check_tsa(Settings(data_dir=tmp_path)).verdict == OK
    assert checks.check_tsa(Settings(data_dir=tmp_path, dev_pki=False)).verdict == MISSING
    down = checks.check_tsa(Settings(data_dir=tmp_path, tsa_url=f"http://127.0.0.1:{free_port()}/tsa", tsa_timeout=2))
    assert down.verdict == MISSING and "did not answer" in down.detail


# --- versions -----------------------------------------------------------------------------


def test_versions_match_the_lock(tmp_path):
    versions = checks.installed_versions()
    lock = tmp_path / "requirements.lock"
    lock.write_text("".join(f"{k}=={v} \\\n    --hash=sha256:00\n" for k, v in versions.items() if k != "python"))
    check = checks.check_versions(lock)
    assert check.verdict == OK and "as locked" in check.detail
    lock.write_text("weasyprint==1.0 \\\n    --hash=sha256:00\n")
    check = checks.check_versions(lock)
    assert check.verdict == DEGRADED and "weasyprint" in check.detail and "lock: 1.0" in check.detail


def test_the_committed_lock_is_what_runs_here():
    check = checks.check_versions()
    assert check.verdict == OK, check.detail


# --- the command line and serve --------------------------------------------------------------


def run_cli(*args, env=None, cwd=None):
    import os

    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def test_doctor_on_a_fresh_data_dir_says_ok(tmp_path):
    result = run_cli("doctor", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 11 and all(line.startswith("OK") for line in lines), result.stdout
    for name in (
        "harfbuzz subsetting",
        "shipped fonts",
        "pypdfium2",
        "province profile",
        "database",
        "seal keys",
        "versions",
    ):
        assert name in result.stdout
    assert not (tmp_path / "data").exists()  # the doctor writes nothing


def test_doctor_exits_non_zero_on_missing(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    result = run_cli("doctor", "--data-dir", str(tmp_path), env={"ZC_DATABASE_URL": url})
    assert result.returncode == 1
    assert any(line.startswith("MISSING") and "database" in line for line in result.stdout.splitlines())


def test_serve_refuses_to_start_when_output_would_break(tmp_path):
    empty = tmp_path / "nofonts"
    empty.mkdir()
    result = run_cli(
        "serve", "--data-dir", str(tmp_path / "d"), "--port", str(free_port()), env={"ZC_FONTS_DIR": str(empty)}
    )
    assert result.returncode == 2
    assert "cannot serve" in result.stderr and "shipped fonts" in result.stderr


def test_healthz_reports_degraded_speed(settings, monkeypatch):
    from fastapi.testclient import TestClient

    from service.app import create_app

    slow = checks.Check("harfbuzz subsetting", DEGRADED, "libharfbuzz-subset0 is not installed")
    monkeypatch.setattr("service.app.speed_checks", lambda: [slow])
    with TestClient(create_app(settings)) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["harfbuzz subsetting: libharfbuzz-subset0 is not installed"]


def test_healthz_ok_at_full_speed(client):
    assert client.get("/healthz").json() == {"status": "ok"}
