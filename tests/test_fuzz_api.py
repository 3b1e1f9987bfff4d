"""Schema fuzzing: Schemathesis against the service's own OpenAPI schema, over HTTP.

Every operation, the batch API included, gets schema-valid and schema-invalid requests
(a bounded number, the same ones on every run: ``derandomize``), then the certificate's
life is walked along the schema's links (issue → read → reissue → revoke → verify) with
fuzzed bodies, and Schemathesis's own state machine follows the links from what it can
create. The answers must hold: no 5xx, each matches its documented status, media type
and schema, schema-invalid input is refused, every 4xx carries a Chinese message. The
service runs as a real process, so a crash or a closed connection shows as one.

``ZC_FUZZ_EXAMPLES`` raises the number of examples per operation for a deeper local run.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from service.config import Settings
from tests.conftest import load_contract
from tests.served import serve

EXAMPLES = int(os.environ.get("ZC_FUZZ_EXAMPLES", "5"))
CJK = re.compile("[\u4e00-\u9fff]")


def error_carries_a_chinese_message(ctx, response, case) -> None:
    """A 4xx says in Chinese what to correct (the public QR "not found" too)."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body.get("message"), str) and CJK.search(body["message"]), (
            f"{response.status_code} without a Chinese message: {response.text[:300]}"
        )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_carries_a_chinese_message,
]


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the schema publishes (read without serving)."""
    schema = create_app(Settings(data_dir="/nonexistent")).openapi()
    return [(method.upper(), path) for path, item in schema["paths"].items() for method in item]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    served = serve(
        tmp_path_factory.mktemp("fuzz"),
        env={
            "ZC_VERIFY_RATE_PER_MINUTE": "1000000",
            "ZC_VERIFY_BURST": "1000000",
            "ZC_SEAL_LEVEL": "B-T",
            "ZC_WORK_QUEUE": "64",
            "ZC_BATCH_PROCESSES": "1",
        },
    )
    try:
        schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
        yield served, schema, {"Authorization": f"Bearer {served.key('admin')}"}
    finally:
        served.stop()
    # Whatever the fuzzer sent, nothing was unexpected enough to be logged with a traceback.
    log = served.log
    assert "Traceback" not in log, log[-5000:]
    answers = re.findall(r'HTTP/1.1" (\d{3})', log)
    print(f"fuzzing: {len(answers)} requests,", {status: answers.count(status) for status in sorted(set(answers))})


def run_fuzz(operation, headers: dict, mode: GenerationMode, examples: int = EXAMPLES, **fixed) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def fuzz(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing to make invalid (an operation without parameters or body).
        assert mode == GenerationMode.NEGATIVE


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_answers_as_documented(api, method, path, mode):
    _, schema, headers = api
    run_fuzz(schema[path][method], headers, mode)


def test_a_certificate_s_life_along_the_links_with_fuzzed_bodies(api):
    """issue → read → reissue → revoke → verify: the issue with the contract's example (a
    generated photo is never a photo), each next step fuzzed on the certificate it made."""
    served, schema, headers = api
    issue = schema["/api/v1/certificates"]["POST"]
    body = {**load_contract("certificate-request.json"), "declaration_id": "FUZZ-LIFE"}  # not the fuzzed example
    issued = issue.Case(body=body, headers={"Idempotency-Key": "fuzz-life"}).call_and_validate(
        headers=headers, checks=CHECKS
    )
    assert issued.status_code == 201, issued.text
    number, name = issued.json()["number"], issued.json()["holder"]["name"]
    on_it = {"path_parameters": {"number": number}}
    for path in (
        "/api/v1/certificates/{number}",
        "/api/v1/certificates/{number}/pdf",
        "/api/v1/certificates/{number}/events",
    ):
        run_fuzz(schema[path]["GET"], headers, GenerationMode.POSITIVE, **on_it)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        run_fuzz(schema["/api/v1/certificates/{number}/reissue"]["POST"], headers, mode, **on_it)
        run_fuzz(schema["/api/v1/certificates/{number}/revoke"]["POST"], headers, mode, **on_it)
    lookup = schema["/api/v1/verify/lookup"]["POST"]
    found = lookup.Case(body={"number": number, "name": name}).call_and_validate(checks=CHECKS)
    assert found.json()["found"] is True and found.json()["status"] in ("revoked", "valid", "superseded")
    run_fuzz(lookup, {}, GenerationMode.POSITIVE, body={"number": number, "name": name})


def test_schemathesis_state_machine_follows_the_links(api):
    _, schema, headers = api

    class Links(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Links.run(
        settings=settings(
            max_examples=10,
            stateful_step_count=4,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
