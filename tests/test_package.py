"""The package installs as a wheel and runs from any directory: templates, fonts and
migrations travel inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # The project's own build backend, without downloading one: setuptools is in every venv.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob("*.whl")
    return path


def test_wheel_carries_templates_fonts_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "service/assets/templates/forms/review-form/form.html",
        "service/assets/templates/certificates/default/sample.json",
        "service/assets/templates/pages/static/verify.css",
        "service/assets/fonts/fonts.conf",
        "service/assets/fonts/NotoSerifSC-Regular.otf",
        "service/assets/fonts/HanaMinB.ttf",
        "service/registry/migrations/env.py",
        "service/registry/migrations/script.py.mako",
    ):
        assert required in names, required
    assert any(n.startswith("service/registry/migrations/versions/0001") for n in names)
    # the font build inputs stay in the source tree
    assert not any(n.startswith("service/assets/fonts/data/") or n.endswith("build_fonts.py") for n in names)


def test_installed_wheel_renders_from_another_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    # The dependencies come from this environment (a path entry, so its editable
    # install of the project is *not* seen); the project itself only from the wheel.
    (target / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    zipfile.ZipFile(wheel).extractall(target)
    script = """
import json, sys
from pathlib import Path
import service
from service.config import Settings
from service.documents.render import Renderer
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_form
settings = Settings(data_dir=Path("data"))
spec = all_forms()["review-form"]
payload = spec.validate(json.loads(Path(sys.argv[1]).read_text("utf-8")), settings.limits)
pdf = render_form(Renderer(settings.templates_dir, settings.fonts_dir), spec, payload,
                  RenderContext(settings.fonts_dir))
print(json.dumps({"package": service.__file__, "templates": str(settings.templates_dir), "pdf": pdf[:5].decode(),
                  "size": len(pdf)}))
"""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FONTCONFIG_FILE")}
    result = subprocess.run(
        [python, "-c", script, str(ROOT / "tests/data/contract/declaration.json")],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["package"].startswith(str(target)), facts
    assert facts["templates"].startswith(str(target)), facts
    assert facts["pdf"] == "%PDF-" and facts["size"] > 50_000
    doctor = subprocess.run(
        [python, "-m", "service", "doctor", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=300,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert str(target) in doctor.stdout  # fonts from the installed package


def test_installed_wheel_serves_issues_and_seals_from_another_directory(wheel, tmp_path):
    """``serve`` from the installed wheel alone, in another directory: a certificate
    issued before its committee has a key (pending), the key given, a seal batch run."""
    import time

    import httpx

    from tests.batch_helpers import COMMITTEE, auth, request_for, wait_for
    from tests.served import free_port

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    (target / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    zipfile.ZipFile(wheel).extractall(target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FONTCONFIG_FILE")}
    data = str(tmp_path / "data")

    def cli(*args: str) -> str:
        done = subprocess.run(
            [python, "-m", "service", *args, "--data-dir", data],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [python, "-m", "service", "serve", "--workers", "1", "--port", str(port), "--data-dir", data],
        cwd=elsewhere,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.3)
        keys = {role: cli("api-keys", "create", "--role", role).split()[-1] for role in ("platform", "staff")}
        cli("orgs", "add", "--code", COMMITTEE[0], "--name", COMMITTEE[1], "--role", "committee", "--no-key")
        issued = httpx.post(
            f"{url}/api/v1/certificates", json=request_for("WHEEL-1"), headers=auth(keys["platform"]), timeout=120
        )
        assert issued.status_code == 201, issued.text
        assert issued.json()["status"] == "pending_seal"
        cli("orgs", "update", "--code", COMMITTEE[0], "--dev-key")
        job = httpx.post(
            f"{url}/api/v1/batches",
            json={"kind": "seal", "committee": COMMITTEE[0]},
            headers=auth(keys["staff"]),
            timeout=60,
        )
        assert job.status_code == 202, job.text
        status = wait_for(url, keys["staff"], job.json()["id"], timeout=300)
        assert status["state"] == "done" and status["done"] == 1, status
        number = issued.json()["number"]
        verified = httpx.get(f"{url}/api/v1/certificates/{number}", headers=auth(keys["platform"]), timeout=30).json()
        assert verified["status"] == "valid", verified
        served_from = (tmp_path / "serve.log").read_text(errors="replace")
        assert "Traceback" not in served_from
    finally:
        process.terminate()
        process.wait(timeout=60)
