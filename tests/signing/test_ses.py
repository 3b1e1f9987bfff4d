"""GB/T 38540 印章数据 and 签章数据: built, read back, checked, and their SM2 signatures
verified by OpenSSL over the exact DER the standard says is signed."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest
from asn1crypto import core

from service.documents.seal_image import default_seal_font, render_round_seal
from service.signing.devpki import generate_dev_pki
from service.signing.ses import SealData, SesSignature, make_seal, make_signature, seal_to_sign
from service.signing.ses_verify import check_ses_signature, read_seal
from service.signing.sm2 import DEFAULT_SIGNER_ID, certificate_der, public_point
from tests.signing.conftest import FROZEN, ORGS
from tests.signing.test_sm2 import OPENSSL, needs_openssl, openssl_verifies

DATA = "<ofd:Signature>证书 9342022000101001960</ofd:Signature>".encode()


@pytest.fixture(scope="module")
def pki():
    return generate_dev_pki(ORGS, FROZEN)


@pytest.fixture(scope="module")
def seal_data(pki):
    picture = render_round_seal(ORGS[1][1], None, default_seal_font())
    return SealData(
        es_id="ISS01",
        name=ORGS[1][1],
        signer_certs=(certificate_der(pki.sm2.seals["ISS01"].cert_pem),),
        picture_png=picture,
        width_mm=40,
        height_mm=40,
        created=FROZEN,
        valid_start=FROZEN,
        valid_end=FROZEN + timedelta(days=365 * 5),
    )


@pytest.fixture(scope="module")
def seal(pki, seal_data):
    return make_seal(seal_data, pki.sm2.maker.signer())


def sign(pki, seal, data=DATA, code="ISS01", at=FROZEN + timedelta(hours=1)):
    return make_signature(seal, data, "/Doc_0/Signs/Sign_1/Signature.xml", at, pki.sm2.seals[code].signer())


def roots(pki):
    return (certificate_der(pki.sm2.root.cert_pem),)


def test_the_seal_says_what_the_standard_asks(seal, seal_data, pki):
    parsed = read_seal(seal)
    info = parsed["esealInfo"]
    assert info["header"].native == {"id": "ES", "version": 4, "vid": "ZHICHENG"}
    assert info["esID"].native == "ISS01"
    prop = info["property"].native
    assert prop["type"] == 1 and prop["name"] == ORGS[1][1] and prop["certListType"] == 1
    assert prop["certList"] == list(seal_data.signer_certs)
    assert prop["validStart"] == FROZEN
    assert info["picture"].native == {"type": "PNG", "data": seal_data.picture_png, "width": 40, "height": 40}
    assert parsed["cert"].native == certificate_der(pki.sm2.maker.cert_pem)
    assert parsed["signAlgID"].dotted == "1.2.156.10197.1.501"
    # plain DER a generic decoder reads: a SEQUENCE of four
    generic = core.Sequence.load(seal)
    assert len(generic) == 4 and generic.dump() == seal


def test_a_genuine_signature_is_genuine(pki, seal):
    verdict = check_ses_signature(sign(pki, seal), DATA, roots(pki))
    assert verdict.problems == ()
    assert verdict.seal_name == ORGS[1][1] and verdict.es_id == "ISS01"
    assert verdict.signed_at == FROZEN + timedelta(hours=1)
    assert verdict.picture_png.startswith(b"\x89PNG")


@needs_openssl
def test_openssl_verifies_the_maker_and_the_signer(pki, seal, tmp_path):
    der = sign(pki, seal)
    signature = SesSignature.load(der)
    signer = public_point(certificate_der(pki.sm2.seals["ISS01"].cert_pem))
    tbs = signature["toSign"].dump()
    assert openssl_verifies(tmp_path, signer, tbs, bytes(signature["signature"]), DEFAULT_SIGNER_ID)
    maker = public_point(certificate_der(pki.sm2.maker.cert_pem))
    parsed = read_seal(seal)
    assert openssl_verifies(tmp_path, maker, seal_to_sign(parsed), bytes(parsed["signedValue"]), DEFAULT_SIGNER_ID)
    # and OpenSSL's own ASN.1 parser reads the whole structure
    (tmp_path / "sig.der").write_bytes(der)
    parsed_text = subprocess.run(
        [OPENSSL, "asn1parse", "-inform", "DER", "-in", str(tmp_path / "sig.der")], capture_output=True, text=True
    )
    assert parsed_text.returncode == 0 and ":ES" in parsed_text.stdout and "GENERALIZEDTIME" in parsed_text.stdout


def test_changed_data_or_fields_are_altered(pki, seal):
    der = sign(pki, seal)
    assert check_ses_signature(der, DATA + b" ", roots(pki)).problems == ("altered",)
    signature = SesSignature.load(der)
    tbs = signature["toSign"].copy()
    tbs["propertyInfo"] = "/Doc_0/Signs/Sign_9/Signature.xml"
    forged = SesSignature({**{k: signature[k] for k in ("cert", "signatureAlgID", "signature")}, "toSign": tbs})
    assert "altered" in check_ses_signature(forged.dump(), DATA, roots(pki)).problems


def test_a_changed_seal_picture_breaks_the_makers_signature(pki, seal):
    parsed = read_seal(seal).copy()
    parsed["esealInfo"]["picture"]["data"] = b"\x89PNG other picture"
    forged = sign(pki, parsed.dump())
    assert check_ses_signature(forged, DATA, roots(pki)).problems == ("bad_seal",)


def test_foreign_roots_wrong_signers_and_dates(pki, seal, seal_data):
    other = generate_dev_pki(ORGS, FROZEN)
    assert check_ses_signature(sign(pki, seal), DATA, roots(other)).problems == ("untrusted",)
    # the committee's key with the issuer's seal: not one of the seal's certificates
    assert check_ses_signature(sign(pki, seal, code="COMM01"), DATA, roots(pki)).problems == ("not_in_seal",)
    late = sign(pki, seal, at=seal_data.valid_end + timedelta(days=1))
    assert check_ses_signature(late, DATA, roots(pki)).problems == ("out_of_validity",)
    expired_seal = make_seal(replace(seal_data, valid_end=FROZEN), pki.sm2.maker.signer())
    assert check_ses_signature(sign(pki, expired_seal), DATA, roots(pki)).problems == ("out_of_validity",)


@pytest.mark.parametrize("junk", [b"", b"\x30\x03\x02\x01\x04", b"\x30\x82\xff\xff" + b"\x00" * 20, b"not der"])
def test_junk_is_unreadable_never_an_exception(pki, junk):
    assert check_ses_signature(junk, DATA, roots(pki)).problems == ("unreadable",)


# --- the timestamp over the signature value (GB/T 38540 § 7.2 timeStamp) ---------------


@pytest.fixture(scope="module")
def timestamper(pki):
    from service.signing.tsa import build_dev_timestamper

    return build_dev_timestamper(pki.tsa.cert_pem, pki.tsa.key_pem, fixed_time=FROZEN + timedelta(hours=1))


def stamped(pki, seal, timestamper, data=DATA):
    from service.signing.ses_timestamp import request_token

    return make_signature(
        seal,
        data,
        "/Doc_0/Signs/Sign_1/Signature.xml",
        FROZEN + timedelta(hours=1),
        pki.sm2.seals["ISS01"].signer(),
        lambda value: request_token(timestamper, value),
    )


def test_a_timestamped_signature_carries_a_token_over_its_signature_value(pki, seal, timestamper):
    from service.signing.trust import trust_from_dev_pki

    der = stamped(pki, seal, timestamper)
    verdict = check_ses_signature(der, DATA, roots(pki), trust_from_dev_pki(pki))
    assert verdict.genuine, verdict.problems
    assert verdict.timestamped_at == FROZEN + timedelta(hours=1)
    unstamped = check_ses_signature(sign(pki, seal), DATA, roots(pki), trust_from_dev_pki(pki))
    assert unstamped.genuine and unstamped.timestamped_at is None


@needs_openssl
def test_openssl_verifies_the_token_against_the_signature_value(pki, seal, timestamper, tmp_path):
    import hashlib

    parsed = SesSignature.load(stamped(pki, seal, timestamper))
    (tmp_path / "token.der").write_bytes(bytes(parsed["timeStamp"]))
    (tmp_path / "root.pem").write_bytes(pki.root.cert_pem)
    (tmp_path / "tsa.pem").write_bytes(pki.tsa.cert_pem)

    def openssl_ts_verify(value: bytes) -> bool:
        result = subprocess.run(
            [OPENSSL, "ts", "-verify", "-token_in", "-in", str(tmp_path / "token.der")]
            + ["-digest", hashlib.sha256(value).hexdigest(), "-CAfile", str(tmp_path / "root.pem")]
            + ["-untrusted", str(tmp_path / "tsa.pem")],
            capture_output=True,
            text=True,
        )
        return result.returncode == 0 and "Verification: OK" in result.stdout

    assert openssl_ts_verify(bytes(parsed["signature"]))
    assert not openssl_ts_verify(bytes(parsed["signature"]) + b"x")


def test_a_token_moved_from_another_signature_or_from_an_untrusted_tsa_is_caught(pki, seal, timestamper):
    from service.signing.trust import trust_from_dev_pki
    from service.signing.tsa import build_dev_timestamper

    trust = trust_from_dev_pki(pki)
    other = SesSignature.load(stamped(pki, seal, timestamper, data=b"another document"))
    moved = SesSignature.load(stamped(pki, seal, timestamper))
    moved["timeStamp"] = bytes(other["timeStamp"])  # the TBS and SM2 signature are untouched
    verdict = check_ses_signature(moved.dump(force=True), DATA, roots(pki), trust)
    assert verdict.problems == ("bad_timestamp",)
    stranger = generate_dev_pki(ORGS, FROZEN)
    foreign_tsa = build_dev_timestamper(stranger.tsa.cert_pem, stranger.tsa.key_pem, fixed_time=FROZEN)
    foreign = stamped(pki, seal, foreign_tsa)
    assert check_ses_signature(foreign, DATA, roots(pki), trust).problems == ("bad_timestamp",)
    # without a TSA trust the token's own signature and imprint still count
    assert check_ses_signature(foreign, DATA, roots(pki)).genuine
    garbage = SesSignature.load(stamped(pki, seal, timestamper))
    garbage["timeStamp"] = b"\x30\x03\x02\x01\x01"
    assert check_ses_signature(garbage.dump(force=True), DATA, roots(pki), trust).problems == ("bad_timestamp",)
