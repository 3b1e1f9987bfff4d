"""Replays: the same request from the same caller gets the same certificate; anything else
gets a clear 409 and never someone else's certificate; duplicates in flight burn no numbers."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.app import create_app
from service.certificates.issuance import Actor, issue_certificate
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.registry.models import Certificate, IssueClaim, NumberSequence
from tests.conftest import auth, load_contract, make_key


@pytest.fixture
def env(any_db_settings):
    settings = any_db_settings.model_copy(update={"seal_level": "B-T"})
    with TestClient(create_app(settings)) as client:
        keys = {"a": make_key(settings, "platform"), "b": make_key(settings, "platform")}
        yield client, settings, keys


def issue(client, key, body, idempotency_key=None):
    headers = auth(key) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
    return client.post("/api/v1/certificates", json=body, headers=headers)


def test_a_corrected_resubmission_is_a_conflict_that_says_how_to_correct(env):
    client, _, keys = env
    body = load_contract("certificate-request.json")
    first = issue(client, keys["a"], body, "req-1")
    assert first.status_code == 201
    corrected = copy.deepcopy(body)
    corrected["holder"]["name"] = "张叁"
    for key in ("req-1", None):  # by the idempotency key, and by the declaration
        again = issue(client, keys["a"], corrected, key)
        assert again.status_code == 409, again.text
        message = again.json()["message"]
        assert first.json()["number"] in message and "reissue" in message and "补换证" in message
    assert issue(client, keys["a"], body, "req-1").status_code == 200  # the original is still a replay


def test_another_callers_idempotency_key_reveals_nothing(env):
    client, _, keys = env
    body = load_contract("certificate-request.json")
    first = issue(client, keys["a"], body, "shared-key")
    assert first.status_code == 201
    # Another platform key, the same Idempotency-Key, another person: a certificate of its own.
    other = copy.deepcopy(body)
    other["declaration_id"] = "OTHER-1"
    other["holder"]["name"] = "李四"
    other["holder"]["id_number"] = "420106199001011234"
    second = issue(client, keys["b"], other, "shared-key")
    assert second.status_code == 201
    assert second.json()["number"] != first.json()["number"]
    assert "420106198905261525" not in second.text
    # ... and the first caller's declaration from the other key: refused, without its data.
    stolen = issue(client, keys["b"], body, "another-key")
    assert stolen.status_code == 409
    assert "420106198905261525" not in stolen.text and first.json()["number"] not in stolen.text


def test_fifty_concurrent_duplicates_issue_one_certificate_and_burn_one_number(env):
    client, settings, _ = env
    services = client.app.state.services
    request = validate_payload(CertificateRequest, load_contract("certificate-request.json"), settings.limits)
    actor = Actor("platform", "dupes")
    with ThreadPoolExecutor(max_workers=10) as pool:
        issued = list(
            pool.map(lambda _: issue_certificate(services, request, actor=actor, idempotency_key="k"), range(50))
        )
    assert len({i.certificate.number for i in issued}) == 1
    assert sum(not i.replay for i in issued) == 1
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 1
        assert session.scalar(select(NumberSequence.last_value)) == 1
        assert session.scalar(select(func.count()).select_from(IssueClaim)) == 0


def test_a_failed_issuance_releases_its_claim(env):
    client, settings, _ = env
    services = client.app.state.services
    request = validate_payload(CertificateRequest, load_contract("certificate-request.json"), settings.limits)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer down")

    with pytest.raises(RuntimeError):
        issue_certificate(services, request, actor=Actor("platform", "x"), make=broken)
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IssueClaim)) == 0
    assert not issue_certificate(services, request, actor=Actor("platform", "x")).replay
