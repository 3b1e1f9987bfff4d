"""A batch kind is one record: a kind registered here (not in the catalog, touching no
other module) is accepted by the API, worked by the local pool, counted and archived like
the service's own; and the seal levels are records the choices read."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from service.app import create_app
from service.batches.items import finish_item
from service.batches.kinds import BatchKind, register, unregister
from service.config import Settings
from service.registry.db import transaction
from service.sealing.startup import choose_level
from service.signing import levels
from tests.conftest import auth, make_key


class NoteJob(BaseModel):
    kind: Literal["note"]
    words: list[str]


def note_items(session, request: NoteJob, now: datetime):
    for word in request.words:
        yield word, {"word": word}


def note_item(services, job, item, owner) -> None:
    with transaction(services.sessions) as session:
        finish_item(session, item, owner, services.clock(), outcome="noted", number=item.target.upper())


NOTE = BatchKind(
    name="note",
    title="记录",
    request=NoteJob,
    select_items=note_items,
    run_item=note_item,
    outcomes={"noted": "已记录"},
    roles=("staff", "platform"),
)


@pytest.fixture
def note_kind():
    register(NOTE)
    yield NOTE
    unregister(NOTE.name)


def test_a_registered_kind_runs_through_the_api_like_the_services_own(tmp_path, note_kind):
    settings = Settings(data_dir=tmp_path / "data", batch_warm=False, upload_warm=False)
    # The kind's item function reaches the worker processes by reference (this module).
    with TestClient(create_app(settings)) as client:
        key = make_key(settings, "platform")
        created = client.post("/api/v1/batches", json={"kind": "note", "words": ["a", "b", "c"]}, headers=auth(key))
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        deadline = time.monotonic() + 60
        while (status := client.get(f"/api/v1/batches/{job_id}", headers=auth(key)).json())["state"] not in (
            "done",
            "failed",
        ):
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert status["state"] == "done" and status["done"] == 3 and status["kind"] == "note", status
        unknown = client.post("/api/v1/batches", json={"kind": "nope"}, headers=auth(key))
        assert unknown.status_code == 422 and "note（记录）" in unknown.json()["message"]
        refused = client.post("/api/v1/batches", json={"kind": "seal", "numbers": ["1"]}, headers=auth(key))
        assert refused.status_code == 403 and "note" in refused.json()["message"]


def test_levels_are_chosen_by_their_records(monkeypatch):
    assert choose_level("auto", has_revocation=True, has_tsa=True) == "B-LTA"
    assert choose_level("auto", has_revocation=False, has_tsa=True) == "B-T"
    stronger = levels.SealLevel("B-X", 9, needs_revocation_data=False, archive_timestamp=False, title="测试")
    monkeypatch.setitem(levels.LEVELS, "B-X", stronger)
    assert choose_level("auto", has_revocation=False, has_tsa=True) == "B-X"
    assert choose_level("B-X", has_revocation=False, has_tsa=True) == "B-X"
    assert "B-X" not in levels.renewable_levels()
    with pytest.raises(levels.SealingError):
        levels.seal_level("B-Y")
