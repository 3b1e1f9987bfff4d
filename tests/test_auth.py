"""API keys: created by the CLI, stored hashed, checked on every protected route."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from service.registry.db import open_registry
from service.registry.models import ApiKey
from tests.conftest import auth


def test_health_and_docs_need_no_key(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_missing_key_is_401_with_bearer_challenge(client, declaration):
    response = client.post("/api/v1/forms/review-form", json=declaration)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["message"]


def test_wrong_key_is_401(client, keys, declaration):
    forged = keys["platform"][:-4] + "AAAA"
    for header in (
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Basic {keys['platform']}"},
    ):
        assert client.post("/api/v1/forms/review-form", json=declaration, headers=header).status_code == 401


def test_wrong_role_is_403(client, keys):
    response = client.get("/api/v1/api-keys", headers=auth(keys["platform"]))
    assert response.status_code == 403
    assert "platform" in response.json()["message"]
    assert client.get("/api/v1/api-keys", headers=auth(keys["admin"])).status_code == 200


def test_keys_are_stored_hashed(settings, keys):
    with open_registry(settings)() as session:
        rows = session.scalars(select(ApiKey)).all()
    assert {row.role for row in rows} == {"platform", "staff", "admin"}
    stored = " ".join(f"{row.key_id} {row.key_hash}" for row in rows)
    for key in keys.values():
        secret = key.split("_", 2)[2]
        assert secret not in stored
        assert len(secret) >= 40


def test_revoked_key_stops_working(client, keys):
    created = client.post("/api/v1/api-keys", json={"role": "platform", "label": "temp"}, headers=auth(keys["admin"]))
    assert created.status_code == 201
    key = created.json()["key"]
    assert client.get("/api/v1/forms", headers=auth(key)).status_code == 200
    key_id = key.split("_")[1]
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=auth(keys["admin"])).status_code == 204
    assert client.get("/api/v1/forms", headers=auth(key)).status_code == 401


def test_cli_prints_a_working_key_as_its_last_line(tmp_path):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.config import Settings

    data_dir = tmp_path / "cli-data"
    result = subprocess.run(
        [sys.executable, "-m", "service", "api-keys", "create", "--role", "staff", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("zc_")
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get("/api/v1/forms", headers=auth(key)).status_code == 200
        assert client.get("/api/v1/api-keys", headers=auth(key)).status_code == 403
