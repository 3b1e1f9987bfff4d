"""Organisations changed while the service runs take effect without a restart; the admin
API for them; start-up refuses a configuration it cannot print, in one line."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest

from service.config import Settings
from service.registry.db import open_registry, transaction
from service.registry.orgs import add_org, update_key_source
from service.sealing.live import LiveSealers
from tests.conftest import auth, load_contract
from tests.served import ROOT, free_port, serve

COMMITTEE = ("430001", "湖南省工程技术中级专业技术职务任职资格评审委员会")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_live_sealers_follow_the_registry(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", orgs_check_seconds=5)
    sessions = open_registry(settings)
    clock = Clock()
    sealers = LiveSealers(settings, sessions, clock=clock)
    assert not sealers.has_key(COMMITTEE[0])
    with transaction(sessions) as session:
        add_org(session, *COMMITTEE, "committee", datetime.now(UTC), key_source={"kind": "dev"})
    clock.now = 1
    assert COMMITTEE[0] not in sealers.codes()  # not looked at yet
    # a key asked for and not loaded: the registry is asked at once, not after the interval
    assert sealers.has_key(COMMITTEE[0]) and COMMITTEE[0] in sealers.codes()
    # A change that cannot be loaded keeps the seals as they were, and says why.
    with transaction(sessions) as session:
        update_key_source(
            session,
            COMMITTEE[0],
            {"kind": "pem", "key_path": "/nonexistent.key", "cert_path": "/nonexistent.pem"},
            datetime.now(UTC),
        )
    clock.now = 11
    assert sealers.has_key(COMMITTEE[0]) and "430001" in sealers.last_error
    sealers.close()


def request_for(committee: tuple[str, str], declaration_id: str) -> dict:
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    body["committee"]["code"], body["committee"]["name"] = committee
    return body


def test_an_organisation_given_a_key_seals_without_a_restart(tmp_path):
    service = serve(tmp_path, env={"ZC_ORGS_CHECK_SECONDS": "1", "ZC_SEAL_LEVEL": "B-T"})
    try:
        key = service.key("platform")
        assert (
            service.cli(
                "orgs", "add", "--code", COMMITTEE[0], "--name", COMMITTEE[1], "--role", "committee", "--no-key"
            ).returncode
            == 0
        )
        first = httpx.post(
            f"{service.url}/api/v1/certificates", json=request_for(COMMITTEE, "LIVE-1"), headers=auth(key), timeout=120
        )
        assert first.status_code == 201 and first.json()["status"] == "pending_seal"
        assert service.cli("orgs", "update", "--code", COMMITTEE[0], "--dev-key").returncode == 0
        time.sleep(1.5)
        second = httpx.post(
            f"{service.url}/api/v1/certificates", json=request_for(COMMITTEE, "LIVE-2"), headers=auth(key), timeout=120
        )
        assert second.status_code == 201 and second.json()["status"] == "valid", second.text
    finally:
        service.stop()


def test_the_organisations_admin_api(client, keys):
    admin = auth(keys["admin"])
    assert client.get("/api/v1/organisations", headers=auth(keys["platform"])).status_code == 403
    created = client.post(
        "/api/v1/organisations",
        headers=admin,
        json={"code": COMMITTEE[0], "name": COMMITTEE[1], "role": "committee", "no_key": True},
    )
    assert created.status_code == 201 and created.json()["key_source"] is None
    listed = {o["code"]: o for o in client.get("/api/v1/organisations", headers=admin).json()}
    assert listed[COMMITTEE[0]]["role"] == "committee" and len(listed) == 3
    bad = client.patch(
        f"/api/v1/organisations/{COMMITTEE[0]}",
        headers=admin,
        json={"key_source": {"kind": "pem", "key_path": "/nonexistent.key", "cert_path": "/nonexistent.pem"}},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "key_source"
    secret = client.patch(
        f"/api/v1/organisations/{COMMITTEE[0]}",
        headers=admin,
        json={"key_source": {"kind": "pkcs12", "key_path": "/x.p12", "secret_env": "not a name"}},
    )
    assert secret.status_code == 422
    given = client.patch(f"/api/v1/organisations/{COMMITTEE[0]}", headers=admin, json={"key_source": {"kind": "dev"}})
    assert given.status_code == 200 and given.json()["key_source"] == {"kind": "dev"}
    reloaded = client.post("/api/v1/organisations/reload", headers=admin)
    assert reloaded.status_code == 200 and COMMITTEE[0] in reloaded.json()["sealing"]
    assert client.app.state.services.sealers.has_key(COMMITTEE[0])
    duplicate = client.post(
        "/api/v1/organisations", headers=admin, json={"code": COMMITTEE[0], "name": COMMITTEE[1], "role": "committee"}
    )
    assert duplicate.status_code == 409 and "已存在" in duplicate.json()["message"]
    missing = client.patch("/api/v1/organisations/NOPE", headers=admin, json={"active": False})
    assert missing.status_code == 404


def run_serve(tmp_path, env: dict) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"ZC_NUMBER_PATTERN": "9{province}{year"}, "pattern"),
        ({"ZC_NUMBER_PATTERN": "9{province}{year}{committee}"}, "{seq}"),
        ({"ZC_CERTIFICATE_TITLE": "湖北省专业技术职务任职资格电子证书" * 3}, "ZC_CERTIFICATE_TITLE"),
        ({"ZC_NUMBER_PATTERN": "9{province}{year}" + "{committee}" * 10 + "{seq:012d}"}, "ZC_NUMBER_PATTERN"),
    ],
)
def test_a_configuration_the_certificate_cannot_fit_stops_the_start_in_one_line(tmp_path, env, fragment):
    done = run_serve(tmp_path, env)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and fragment in last
    assert "Traceback" not in done.stderr
