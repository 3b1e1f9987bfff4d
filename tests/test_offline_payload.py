"""The offline payload, the signed lists and the offline check: the pure core
(service.offline), and the test vectors docs/qr-payload.md publishes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from service.offline.b64 import b64u_encode
from service.offline.check import check_offline
from service.offline.cose import Es256Signer, jwk_of, sign1
from service.offline.lists import (
    KEYS_TYPE,
    STATUS_TYPE,
    KeyEntry,
    ListError,
    key_list,
    sign_list,
    status_entry,
    status_list,
    verify_list,
)
from service.offline.payload import (
    OfflineFacts,
    PayloadError,
    decode_payload,
    encode_claims,
    encode_payload,
    id_hash,
    id_matches,
    payload_of_text,
    qr_text,
)

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests/data/offline/vectors.json").read_text(encoding="utf-8"))
NOW = datetime(2025, 1, 10, 8, 0, tzinfo=UTC)
ISSUER_KEY = ec.derive_private_key(int(VECTORS["private_key_d_hex"], 16), ec.SECP256R1())
LIST_KEY = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())


def vector_facts() -> OfflineFacts:
    f = VECTORS["facts"]
    return OfflineFacts(
        **{k: f[k] for k in ("number", "version", "name", "series", "specialty", "title", "level")},
        committee=f["committee"],
        issuer=f["issuer"],
        acquired_on=date.fromisoformat(f["acquired_on"]),
        issue_date=date.fromisoformat(f["issue_date"]),
        salt=bytes.fromhex(f["salt"]),
        id_hash=bytes.fromhex(f["id_hash"]),
    )


def key_entry(invalidated_after: str | None = None) -> KeyEntry:
    signer = Es256Signer(ISSUER_KEY)
    return KeyEntry(
        kid=b64u_encode(signer.kid),
        alg="ES256",
        org="11420000011043123X",
        org_name="湖北省人力资源和社会保障厅",
        role="issuer",
        jwk=jwk_of(ISSUER_KEY.public_key()),
        valid_from="2024-01-01T00:00:00+00:00",
        valid_to="2034-01-01T00:00:00+00:00",
        invalidated_after=invalidated_after,
    )


def keys_payload(**entry) -> dict:
    return key_list("https://zc.example", NOW, [key_entry(**entry)])


def status_payload(revoked=(), superseded=(), valid_for=timedelta(days=1)) -> dict:
    return status_list("https://zc.example", NOW, NOW + valid_for, list(revoked), list(superseded))


# --- the vectors ---------------------------------------------------------------------


def test_the_published_vectors_are_what_the_code_makes():
    facts = vector_facts()
    signer = Es256Signer(ISSUER_KEY)
    assert jwk_of(ISSUER_KEY.public_key()) == VECTORS["public_jwk"]
    assert b64u_encode(signer.kid) == VECTORS["kid_b64u"]
    assert id_hash(facts.salt, VECTORS["id_number"]).hex() == VECTORS["facts"]["id_hash"]
    assert encode_claims(facts).hex() == VECTORS["claims_cbor_hex"]
    # RFC 6979: the same key and message give the same signature, so the vector is exact
    assert sign1(encode_claims(facts), signer).hex() == VECTORS["cose_sign1_hex"]
    assert encode_payload(facts, signer) == VECTORS["payload"]
    assert qr_text("https://zc.example.gov.cn/v/AbCdEfGhIjKlMnOpQrStUv", VECTORS["payload"]) == VECTORS["qr_text"]
    assert decode_payload(VECTORS["qr_text"]).facts == facts


def test_the_document_quotes_the_vectors():
    doc = (ROOT / "docs/qr-payload.md").read_text(encoding="utf-8")
    for name in ("private_key_d_hex", "kid_b64u", "claims_cbor_hex", "cose_sign1_hex", "payload", "qr_text"):
        assert VECTORS[name] in doc, name


# --- the payload -----------------------------------------------------------------------


def test_the_qr_text_is_a_url_whose_fragment_holds_the_payload_in_qr_alphanumerics():
    text = VECTORS["qr_text"]
    url, fragment = text.split("#", 1)
    assert " " not in text and url.endswith("/v/AbCdEfGhIjKlMnOpQrStUv")
    assert set(fragment) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert payload_of_text(text) == payload_of_text("#" + fragment) == payload_of_text(VECTORS["payload"])


def test_the_id_number_is_checked_by_its_salted_hash_not_carried():
    facts = vector_facts()
    assert id_matches(facts, "420106198905261525") and id_matches(facts, " 420106198905261525 ")
    assert not id_matches(facts, "420106198905261526")
    assert "420106198905261525" not in json.dumps(facts.public())


@pytest.mark.parametrize("text", ["", "https://zc.example/v/abc", "ZC1:", "ZC1:AAAA", "ZC1:" + "A" * 3000, "ZC2:ABC"])
def test_text_that_is_no_payload_is_refused_with_a_reason(text):
    with pytest.raises(PayloadError):
        decode_payload(text)


# --- the check ---------------------------------------------------------------------------


def test_a_genuine_payload_is_valid_and_shows_its_facts():
    verdict = check_offline(VECTORS["qr_text"], keys_payload(), status_payload(), NOW)
    assert (verdict.verdict, verdict.label, verdict.exit_code) == ("valid", "有效", 0)
    assert verdict.facts == vector_facts()


def test_one_changed_character_anywhere_in_the_payload_is_invalid():
    payload = VECTORS["payload"]
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for i in range(4, len(payload), 7):
        changed = payload[:i] + alphabet[(alphabet.index(payload[i]) + 1) % 45] + payload[i + 1 :]
        verdict = check_offline(changed, keys_payload(), status_payload(), NOW)
        assert verdict.verdict == "invalid", (i, verdict)


def test_a_payload_signed_by_an_unpublished_key_is_invalid():
    other = Es256Signer(ec.derive_private_key(42, ec.SECP256R1()))
    verdict = check_offline(encode_payload(vector_facts(), other), keys_payload(), status_payload(), NOW)
    assert verdict.verdict == "invalid" and "不在密钥列表" in verdict.reason


def test_revoked_and_superseded_versions_are_said_so_by_a_fresh_list():
    entry = status_entry("9422024420001000001", 1)
    assert check_offline(VECTORS["payload"], keys_payload(), status_payload(revoked=[entry]), NOW).label == "已撤销"
    superseded = check_offline(VECTORS["payload"], keys_payload(), status_payload(superseded=[entry]), NOW)
    assert (superseded.label, superseded.exit_code) == ("已换发", 4)
    other_version = status_payload(revoked=[status_entry("9422024420001000001", 2)])
    assert check_offline(VECTORS["payload"], keys_payload(), other_version, NOW).label == "有效"


def test_a_status_list_past_its_valid_until_is_refused():
    status = status_payload(revoked=[], valid_for=timedelta(hours=1))
    verdict = check_offline(VECTORS["payload"], keys_payload(), status, NOW + timedelta(hours=2))
    assert (verdict.label, verdict.exit_code) == ("状态列表已过期，请联网更新", 5)
    assert check_offline(VECTORS["payload"], keys_payload(), None, NOW).verdict == "stale"


def test_a_key_invalidated_after_a_date_keeps_certificates_issued_before_it():
    issued = vector_facts().issue_date  # 2024-12-30
    before = check_offline(VECTORS["payload"], keys_payload(invalidated_after="2025-01-01"), status_payload(), NOW)
    on_the_day = keys_payload(invalidated_after=issued.isoformat())
    after = check_offline(VECTORS["payload"], on_the_day, status_payload(), NOW)
    assert before.label == "有效" and after.label == "无效" and "作废" in after.reason


def test_a_key_of_another_organisation_does_not_vouch_for_the_issuer():
    facts = replace(vector_facts(), issuer="11420000MB0000000X")
    verdict = check_offline(encode_payload(facts, Es256Signer(ISSUER_KEY)), keys_payload(), status_payload(), NOW)
    assert verdict.verdict == "invalid" and "发证机关" in verdict.reason


# --- the lists -------------------------------------------------------------------------


def test_lists_verify_with_their_key_and_not_after_a_change():
    signer = Es256Signer(LIST_KEY)
    document = sign_list(status_payload(), signer, STATUS_TYPE, jwk_of(LIST_KEY.public_key()))
    checked = verify_list(document, STATUS_TYPE, jwk_of(LIST_KEY.public_key()))
    assert checked.pinned and checked.payload == status_payload()
    assert sign_list(status_payload(), signer, STATUS_TYPE, jwk_of(LIST_KEY.public_key())) == document
    with pytest.raises(ListError, match="type"):
        verify_list(document, KEYS_TYPE)
    forged = dict(document, payload=b64u_encode(json.dumps(status_payload(valid_for=timedelta(days=99))).encode()))
    with pytest.raises(ListError, match="does not verify"):
        verify_list(forged, STATUS_TYPE)
    with pytest.raises(ListError, match="another key"):
        verify_list(document, STATUS_TYPE, jwk_of(ISSUER_KEY.public_key()))
