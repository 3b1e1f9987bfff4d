"""「证书生成中」: one declaration's certificate asked for while an issue job still has it to do."""

from __future__ import annotations

from datetime import timedelta

from service.batches.issue_kind import IssueJob
from service.batches.jobs import create_job
from service.registry import batches as repo
from service.registry.db import transaction
from tests.batch_helpers import request_for
from tests.conftest import auth, load_contract


def test_a_declaration_still_in_an_issue_job_answers_generating_with_its_estimate(client, keys):
    services = client.app.state.services
    client.app.state.coordinator.stop()  # the job stays where this test puts it
    ids = [f"AH-2024-GEN-{n}" for n in range(1, 5)]
    job, _ = create_job(
        services, IssueJob(kind="issue", requests=[request_for(i) for i in ids]), created_by="staff:t", engine="local"
    )
    headers = auth(keys["platform"])

    answer = client.get("/api/v1/certificates", params={"declaration_id": ids[2]}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "生成中"
    assert body["message"] == "证书生成中，请稍后下载"
    assert body["job"]["id"] == job.id and body["ahead"] == 2
    assert body["seconds_left"] is None  # nothing finished yet: no rate to estimate from

    # two items finished ten seconds apart: 0.1 items a second, the third one is next
    start = services.clock()
    with transaction(services.sessions) as session:
        first_two = repo.claim(session, job.id, "t", start, start + timedelta(minutes=5), limit=2)
        for n, item_id in enumerate(first_two):
            assert repo.finish(session, item_id, "t", start + timedelta(seconds=10 * n), state="failed", reason="x")
    body = client.get("/api/v1/certificates", params={"declaration_id": ids[2]}, headers=headers).json()
    assert body["ahead"] == 0 and body["seconds_left"] == 10.0

    missing = client.get("/api/v1/certificates", params={"declaration_id": "NO-SUCH"}, headers=headers)
    assert missing.status_code == 404 and "NO-SUCH" in missing.json()["message"]
    both = client.get(
        "/api/v1/certificates", params={"declaration_id": "x", "id_number": "420106198905261525"}, headers=headers
    )
    assert both.status_code == 422


def test_an_issued_declaration_answers_its_certificate(client, keys):
    body = load_contract("certificate-request.json")
    body["declaration_id"] = "AH-2024-GEN-ISSUED"
    issued = client.post("/api/v1/certificates", json=body, headers=auth(keys["platform"]))
    assert issued.status_code == 201, issued.text
    answer = client.get(
        "/api/v1/certificates", params={"declaration_id": "AH-2024-GEN-ISSUED"}, headers=auth(keys["platform"])
    ).json()
    assert answer["status"] == "已签发"
    assert answer["certificate"]["number"] == issued.json()["number"]
