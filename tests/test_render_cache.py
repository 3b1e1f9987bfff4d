"""The cache of rendered forms (issue 25): a repeat is a lookup with the same bytes, anything
the document depends on is part of its key, the folder stays within its bound."""

from __future__ import annotations

import json
import os
import time

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.forms.produce import Document, FormSource
from service.forms.render_cache import RenderCache, fingerprint
from tests.conftest import auth, make_key


def cache_in(tmp_path, max_bytes: int = 10_000_000, stamp: str = "v1") -> RenderCache:
    return RenderCache(tmp_path / "cache", max_bytes, stamp)


def test_an_entry_comes_back_as_it_was_kept(tmp_path):
    cache = cache_in(tmp_path)
    key = cache.key("review-form", FormSource("json", body=b'{"a": 1}'), "pdf", 1)
    assert cache.get(key) is None
    cache.put(key, Document(b"%PDF-1.7 body\n\x00\xff", "application/pdf", 6))
    assert cache.get(key) == Document(b"%PDF-1.7 body\n\x00\xff", "application/pdf", 6)


def test_the_key_is_everything_the_document_depends_on(tmp_path):
    cache = cache_in(tmp_path)
    body = FormSource("json", body=b'{"a": 1}')
    key = cache.key("review-form", body, "pdf", 1)
    assert cache.key("review-form", body, "pdf", 3) == key  # a PDF is the whole document
    others = {
        cache.key("summary-sheet", body, "pdf", 1),
        cache.key("review-form", FormSource("json", body=b'{"a": 2}'), "pdf", 1),
        cache.key("review-form", body, "png", 1),
        cache.key("review-form", body, "png", 2),
        cache.key("review-form", FormSource("upload", body=b'{"a": 1}', filename="x.csv"), "pdf", 1),
        cache_in(tmp_path, stamp="v2").key("review-form", body, "pdf", 1),
    }
    assert key not in others and len(others) == 6
    # no ambiguity between where one part ends and the next begins
    assert cache.key("ab", FormSource("json", body=b"c"), "pdf", 1) != cache.key(
        "a", FormSource("json", body=b"bc"), "pdf", 1
    )


def test_the_folder_stays_within_its_bound_and_keeps_what_was_used_last(tmp_path):
    cache = cache_in(tmp_path, max_bytes=50_000)
    keys = [cache.key("f", FormSource("json", body=str(i).encode()), "pdf", 1) for i in range(20)]
    for i, key in enumerate(keys):
        cache.put(key, Document(bytes(5_000), "application/pdf", 1))
        if i == 1:
            first = keys[0]
        if i >= 2:  # the first entry is read after every put: the most recently used
            assert cache.get(first) is not None
            time.sleep(0.002)  # mtimes apart
    total = sum(path.stat().st_size for path in (tmp_path / "cache").rglob("*") if path.is_file())
    assert total <= 50_000
    assert cache.get(keys[0]) is not None and cache.get(keys[1]) is None


def test_a_foreign_or_damaged_file_is_a_miss(tmp_path):
    cache = cache_in(tmp_path)
    key = cache.key("f", FormSource("json", body=b"x"), "pdf", 1)
    path = tmp_path / "cache" / key[:2] / key
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an entry")
    assert cache.get(key) is None


def test_the_fingerprint_changes_with_a_template_a_font_the_settings_or_the_profile(tmp_path):
    templates, fonts = tmp_path / "templates", tmp_path / "fonts"
    for folder in (templates, fonts):
        folder.mkdir()
    (templates / "form.html").write_text("<p>{{ x }}</p>")
    (fonts / "a.otf").write_bytes(b"font")
    base = fingerprint("{}", "{}", [templates, fonts])
    assert fingerprint("{}", "{}", [templates, fonts]) == base
    assert fingerprint('{"preview_dpi": 150}', "{}", [templates, fonts]) != base
    assert fingerprint("{}", '{"name": "anhui"}', [templates, fonts]) != base
    (templates / "form.html").write_text("<p>{{ x }}!</p>")
    changed = fingerprint("{}", "{}", [templates, fonts])
    assert changed != base
    stamp = (fonts / "a.otf").stat()
    os.utime(fonts / "a.otf", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))
    assert fingerprint("{}", "{}", [templates, fonts]) != changed


@pytest.fixture
def served(settings):
    with TestClient(create_app(settings)) as client:
        yield client, auth(make_key(settings, "platform"))


def test_a_repeated_render_is_served_from_the_cache_with_the_same_bytes(served, declaration):
    client, headers = served
    first = client.post("/api/v1/forms/review-form", json=declaration, headers=headers)
    again = client.post("/api/v1/forms/review-form", json=declaration, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.headers["x-render-cache"] == "miss" and again.headers["x-render-cache"] == "hit"
    assert again.content == first.content and again.headers["x-page-count"] == first.headers["x-page-count"]
    preview = client.post("/api/v1/forms/review-form?format=png&page=2", json=declaration, headers=headers)
    assert preview.headers["x-render-cache"] == "miss" and preview.headers["content-type"] == "image/png"
    changed = dict(declaration, declaration_id="HB-2024-GC-000999")
    other = client.post("/api/v1/forms/review-form", json=changed, headers=headers)
    assert other.headers["x-render-cache"] == "miss" and other.content != first.content
    blank = [client.get("/api/v1/forms/integrity-pledge/blank", headers=headers) for _ in range(2)]
    assert [b.status_code for b in blank] == [200, 200]
    assert [b.headers["x-render-cache"] for b in blank] == ["miss", "hit"]


def test_a_payload_that_does_not_validate_is_refused_every_time_and_not_kept(served, declaration, settings):
    client, headers = served
    declaration["applicant"]["name"] = ""
    answers = [client.post("/api/v1/forms/review-form", json=declaration, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [422, 422]
    assert "x-render-cache" not in answers[1].headers
    assert not any(path.is_file() for path in settings.render_cache_dir.rglob("*"))


def test_no_cache_when_its_size_is_zero(settings, declaration):
    settings = settings.model_copy(update={"render_cache_mb": 0})
    with TestClient(create_app(settings)) as client:
        headers = auth(make_key(settings, "platform"))
        answer = client.post("/api/v1/forms/summary-sheet", content=json.dumps(declaration), headers=headers)
        assert answer.status_code == 200 and "x-render-cache" not in answer.headers
