"""Development PKI (pure and on disk) and file key sources."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from service.sealing.devpki_store import ensure_dev_pki, load_dev_pki, revoke_dev_seal, seal_paths
from service.sealing.key_sources import KeySource, load_signer
from service.signing.devpki import DEV_LABEL, generate_dev_pki
from service.signing.errors import DevPKIError, KeySourceError
from service.signing.keys import CachedKeySigner
from service.signing.seal import seal_certificate
from service.signing.validate import validate_pdf
from tests.signing.conftest import FROZEN, ORGS


@pytest.fixture(scope="module")
def pki():
    return generate_dev_pki(ORGS, FROZEN)


def test_seal_certificates_look_right(pki):
    cert = pki.seal("COMM01").cert
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ORGS[0][1]
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ORGS[0][1]
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "COMM01"
    assert DEV_LABEL in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    ku = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.not_valid_before_utc == FROZEN
    assert (cert.not_valid_after_utc - FROZEN).days >= 5 * 365
    dp = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    assert dp[0].full_name[0].value.startswith("http://dev-pki.invalid/")
    assert cert.issuer == pki.seal_ca.cert.subject


def test_cas_and_tsa_look_right(pki):
    root, ca, tsa = pki.root.cert, pki.seal_ca.cert, pki.tsa.cert
    assert DEV_LABEL in root.subject.rfc4514_string() and DEV_LABEL in ca.subject.rfc4514_string()
    assert (root.not_valid_after_utc - FROZEN).days >= 20 * 365
    assert root.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    eku = tsa.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    for der, issuer in ((pki.root_crl_der, root), (pki.seal_ca_crl_der, ca)):
        crl = x509.load_der_x509_crl(der)
        assert crl.issuer == issuer.subject and crl.is_signature_valid(issuer.public_key())
        assert crl.last_update_utc == FROZEN


def test_bad_roles_and_codes_are_refused(tmp_path):
    with pytest.raises(DevPKIError):
        generate_dev_pki([("X", "某单位", "printer")], FROZEN)
    with pytest.raises(DevPKIError):
        ensure_dev_pki(tmp_path, [("../x", "某单位", "issuer")], FROZEN)


def test_ensure_dev_pki_is_idempotent_and_grows(tmp_path):
    first = ensure_dev_pki(tmp_path, ORGS[:1], FROZEN)
    key_file, cert_file = seal_paths(tmp_path, "COMM01")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "root.key.pem").stat().st_mode) == 0o600
    later = FROZEN + timedelta(days=3)
    second = ensure_dev_pki(tmp_path, ORGS, later)
    assert second.root == first.root and second.seal_ca == first.seal_ca and second.tsa == first.tsa
    assert second.seal("COMM01") == first.seal("COMM01")  # reused
    new = second.seal("ISS01").cert
    assert new.issuer == first.seal_ca.cert.subject and new.not_valid_before_utc == later
    assert x509.load_der_x509_crl(second.seal_ca_crl_der).last_update_utc == later  # re-issued
    assert load_dev_pki(tmp_path) == second


def test_revoke_dev_seal_updates_the_crl_on_disk(tmp_path):
    pki = ensure_dev_pki(tmp_path, ORGS, FROZEN)
    revoke_dev_seal(tmp_path, "ISS01", FROZEN + timedelta(hours=1), FROZEN + timedelta(hours=2))
    crl = x509.load_der_x509_crl((tmp_path / "seal-ca.crl").read_bytes())
    serial = pki.seal("ISS01").cert.serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    # a later ensure keeps the revocation
    again = ensure_dev_pki(tmp_path, ORGS, FROZEN + timedelta(days=1))
    crl = x509.load_der_x509_crl(again.seal_ca_crl_der)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


def test_pem_key_source_with_passphrase(tmp_path, kit, blank_pdf):
    pair = kit.pki.seal("COMM01")
    key = serialization.load_pem_private_key(pair.key_pem, None)
    enc = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"s3cret")
    )
    (tmp_path / "k.pem").write_bytes(enc)
    (tmp_path / "c.pem").write_bytes(pair.cert_pem)
    (tmp_path / "chain.pem").write_bytes(kit.pki.seal_ca.cert_pem)
    source = KeySource.pem(tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "chain.pem", passphrase_env="ZC_KEY_PASS")
    signer = load_signer(source, environ={"ZC_KEY_PASS": "s3cret"})
    assert isinstance(signer, CachedKeySigner)
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    assert validate_pdf(doc, kit.trust, at=FROZEN).valid
    with pytest.raises(KeySourceError):
        load_signer(source, environ={"ZC_KEY_PASS": "wrong"})
    with pytest.raises(KeySourceError, match="ZC_KEY_PASS"):
        load_signer(source, environ={})
    with pytest.raises(KeySourceError):
        load_signer(KeySource.pem(tmp_path / "missing.pem", tmp_path / "c.pem"), environ={})


def test_pkcs12_key_source(tmp_path, kit, blank_pdf):
    pair = kit.pki.seal("ISS01")
    p12 = pkcs12.serialize_key_and_certificates(
        b"issuer",
        serialization.load_pem_private_key(pair.key_pem, None),
        pair.cert,
        [kit.pki.seal_ca.cert],
        serialization.BestAvailableEncryption(b"p12pass"),
    )
    (tmp_path / "issuer.p12").write_bytes(p12)
    source = KeySource.pkcs12(tmp_path / "issuer.p12", passphrase_env="ZC_P12")
    signer = load_signer(source, environ={"ZC_P12": "p12pass"})
    doc = seal_certificate(blank_pdf, kit.committee(), kit.issuer(signer=signer), "B-T")
    assert validate_pdf(doc, kit.trust, at=FROZEN).valid
    with pytest.raises(KeySourceError):
        load_signer(source, environ={"ZC_P12": "nope"})


def test_cached_signer_does_not_reparse_the_key(kit, monkeypatch, blank_pdf):
    import service.signing.keys as keys_module

    calls = []
    real = keys_module.serialization.load_der_private_key
    monkeypatch.setattr(
        keys_module.serialization, "load_der_private_key", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    seal_certificate(blank_pdf, kit.committee(), kit.issuer(), "B-T")
    assert calls == []


def test_the_signing_certificate_attribute_is_built_once_and_is_the_same(kit, monkeypatch, blank_pdf, tmp_path):
    """Each seal of one key reuses its signing-certificate-v2 attribute; what goes into the
    seal is byte for byte what pyHanko builds itself."""
    import asyncio
    from datetime import UTC, datetime

    from pyhanko.sign.signers import SimpleSigner
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    import service.signing.attributes as attributes

    built = []
    real = attributes.as_signing_certificate_v2
    monkeypatch.setattr(attributes, "as_signing_certificate_v2", lambda cert: built.append(1) or real(cert))
    pair = kit.pki.seal("COMM01")
    signer = load_signer(_pem_source(kit, pair, tmp_path))
    for _ in range(3):
        doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    assert validate_pdf(doc, kit.trust, at=FROZEN).valid
    assert built == [1]  # the override is in force (it leans on a pyHanko internal) and builds once

    settings = PdfCMSSignedAttributes(signing_time=datetime(2026, 1, 2, tzinfo=UTC))
    plain = SimpleSigner(
        signing_cert=signer.signing_cert, signing_key=signer.signing_key, cert_registry=signer.cert_registry
    )
    ours, theirs = (
        asyncio.run(s.signed_attrs(b"\x01" * 32, "sha256", attr_settings=settings)) for s in (signer, plain)
    )
    assert ours.dump() == theirs.dump()


def _pem_source(kit, pair, folder):
    (folder / "k.pem").write_bytes(pair.key_pem)
    (folder / "c.pem").write_bytes(pair.cert_pem)
    (folder / "chain.pem").write_bytes(kit.pki.seal_ca.cert_pem)
    return KeySource.pem(folder / "k.pem", folder / "c.pem", folder / "chain.pem")
