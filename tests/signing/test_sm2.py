"""SM2 keys, signatures and certificates, each checked by OpenSSL 3 (an independent
implementation): signatures with the standard signer id, certificates with it too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509

from service.sealing.devpki_store import ensure_dev_pki, load_dev_pki, sm2_seal_paths
from service.signing.devpki import generate_dev_pki
from service.signing.errors import KeySourceError
from service.signing.sm2 import (
    DEFAULT_SIGNER_ID,
    certificate_der,
    public_key_pem,
    public_point,
    sm2_signer_from_pem,
    sm2_signer_from_pkcs12,
    sm3,
    verify_certificate_signature,
    verify_sm2,
)
from tests.signing.conftest import FROZEN, ORGS

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


def openssl_verifies(tmp_path: Path, point: bytes, data: bytes, signature: bytes, signer_id: bytes) -> bool:
    """``openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:…``: SM3(Z ‖ M), Z per GM/T 0009."""
    (tmp_path / "pub.pem").write_bytes(public_key_pem(point))
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "sig").write_bytes(signature)
    result = subprocess.run(
        [OPENSSL, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(tmp_path / "pub.pem")]
        + ["-in", str(tmp_path / "data"), "-sigfile", str(tmp_path / "sig")]
        + ["-pkeyopt", "distid:" + signer_id.decode()],
        capture_output=True,
    )
    return result.returncode == 0


def openssl_verifies_certificate(tmp_path: Path, ca_pem: bytes, cert_pem: bytes) -> bool:
    # OpenSSL 3.0 checks an SM2 certificate's signature with an *empty* id unless told
    # otherwise: GM/T 0015 certificates are signed with the default id, hence -vfyopt.
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    result = subprocess.run(
        [OPENSSL, "verify", "-vfyopt", "distid:" + DEFAULT_SIGNER_ID.decode(), "-CAfile", str(tmp_path / "ca.pem")]
        + [str(tmp_path / "cert.pem")],
        capture_output=True,
    )
    return result.returncode == 0


@pytest.fixture(scope="module")
def pki():
    return generate_dev_pki(ORGS, FROZEN)


def test_sm3_is_the_standards_digest():
    # GB/T 32905-2016 Appendix A, example 1
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_every_organisation_has_an_sm2_seal_beside_its_ecdsa_one(pki):
    assert pki.sm2 is not None and set(pki.sm2.seals) == {code for code, _, _ in ORGS}
    cert = asn1_x509.Certificate.load(certificate_der(pki.sm2.seals["ISS01"].cert_pem))
    assert cert.subject.native["organization_name"] == ORGS[1][1]
    assert cert.subject.native["serial_number"] == "ISS01"
    assert cert["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"  # SM2-with-SM3
    assert cert.not_valid_before == FROZEN
    assert pki.seal("ISS01").cert.public_key().curve.name == "secp256r1"  # the PAdES key is still ECDSA


@needs_openssl
def test_signatures_use_the_standard_signer_id(pki, tmp_path):
    signer = pki.sm2.seals["COMM01"].signer()
    point = public_point(signer.cert_der)
    data = "印章数据 ‖ 原文".encode() * 50
    signature = signer.sign(data)
    assert verify_sm2(point, data, signature)
    assert openssl_verifies(tmp_path, point, data, signature, DEFAULT_SIGNER_ID)
    # Z binds the signer id: under any other id the same signature is not one
    assert not openssl_verifies(tmp_path, point, data, signature, b"1234567812345679")
    assert not verify_sm2(point, data + b"x", signature)
    other = public_point(pki.sm2.seals["ISS01"].signer().cert_der)
    assert not verify_sm2(other, data, signature)


@needs_openssl
def test_certificates_chain_to_the_sm2_root_for_openssl(pki, tmp_path):
    sm2 = pki.sm2
    for pair in (sm2.maker, *sm2.seals.values()):
        assert verify_certificate_signature(certificate_der(pair.cert_pem), certificate_der(sm2.root.cert_pem))
        assert openssl_verifies_certificate(tmp_path, sm2.root.cert_pem, pair.cert_pem)
    foreign = generate_dev_pki(ORGS[:1], FROZEN).sm2
    assert not openssl_verifies_certificate(tmp_path, foreign.root.cert_pem, sm2.maker.cert_pem)
    assert not verify_certificate_signature(certificate_der(sm2.maker.cert_pem), certificate_der(foreign.root.cert_pem))


def test_sm2_keys_from_pem_files_and_their_errors(pki, tmp_path):
    pair = pki.sm2.seals["COMM01"]
    signer = sm2_signer_from_pem(pair.key_pem, pair.cert_pem)
    assert verify_sm2(public_point(signer.cert_der), b"x", signer.sign(b"x"))
    with pytest.raises(KeySourceError, match="not the key's"):
        sm2_signer_from_pem(pair.key_pem, pki.sm2.seals["ISS01"].cert_pem)
    with pytest.raises(KeySourceError, match="not an SM2 key"):
        sm2_signer_from_pem(pki.seal("COMM01").key_pem, pair.cert_pem)  # the ECDSA P-256 key
    with pytest.raises(KeySourceError, match="cannot read SM2 key"):
        sm2_signer_from_pem(_broken_pem(), pair.cert_pem)


def _broken_pem() -> bytes:
    """A PEM block whose body is no key at all (built here: no key-shaped text in the tree)."""
    label = b"PRIVATE " + b"KEY"
    return b"-----BEGIN " + label + b"-----\nAAAA\n-----END " + label + b"-----\n"


@needs_openssl
def test_openssl_made_sm2_keys_are_read(tmp_path):
    key, cert = _openssl_pair(tmp_path, "seal", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2")
    signer = sm2_signer_from_pem(key.read_bytes(), cert.read_bytes())
    signature = signer.sign(b"data")
    assert openssl_verifies(tmp_path, public_point(signer.cert_der), b"data", signature, DEFAULT_SIGNER_ID)


def _openssl_pair(tmp_path: Path, name: str, *genpkey: str, sm2: bool = True) -> tuple[Path, Path]:
    """A key made by ``openssl genpkey genpkey…`` and its self-signed certificate (SM3 with
    the standard signer id when ``sm2``)."""
    key, cert = tmp_path / f"{name}.key.pem", tmp_path / f"{name}.cert.pem"
    subprocess.run([OPENSSL, "genpkey", *genpkey, "-out", str(key)], check=True)
    signing = ["-sm3", "-sigopt", "distid:" + DEFAULT_SIGNER_ID.decode()] if sm2 else []
    subprocess.run(
        [OPENSSL, "req", "-new", "-x509", "-key", str(key), "-subj", f"/CN={name}", "-days", "2", "-out", str(cert)]
        + signing,
        check=True,
    )
    return key, cert


def _openssl_sm2_pair(tmp_path: Path, name: str = "seal") -> tuple[Path, Path]:
    return _openssl_pair(tmp_path, name, "-algorithm", "SM2")


def _pkcs12(tmp_path: Path, key: Path, cert: Path, *options: str) -> bytes:
    out = tmp_path / "seal.p12"
    subprocess.run(
        [OPENSSL, "pkcs12", "-export", *options, "-inkey", str(key), "-in", str(cert)]
        + ["-passout", "pass:口令-1", "-out", str(out)],
        check=True,
    )
    return out.read_bytes()


@needs_openssl
@pytest.mark.parametrize("options", [(), ("-legacy",)], ids=["aes-pbkdf2", "legacy-3des-rc2"])
def test_sm2_keys_from_pkcs12_files_made_by_openssl(tmp_path, options):
    key, cert = _openssl_sm2_pair(tmp_path)
    data = _pkcs12(tmp_path, key, cert, *options)
    signer = sm2_signer_from_pkcs12(data, "口令-1".encode())
    assert signer.cert_der == certificate_der(cert.read_bytes())
    signature = signer.sign(b"data")
    assert openssl_verifies(tmp_path, public_point(signer.cert_der), b"data", signature, DEFAULT_SIGNER_ID)
    with pytest.raises(KeySourceError, match="wrong passphrase"):
        sm2_signer_from_pkcs12(data, b"wrong")
    with pytest.raises(KeySourceError, match="not a PKCS#12 file"):
        sm2_signer_from_pkcs12(cert.read_bytes(), b"x")


@needs_openssl
def test_a_pkcs12_file_whose_key_is_not_sm2_is_refused_by_name(tmp_path):
    ec_key, ec_cert = _openssl_pair(
        tmp_path, "p256", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", sm2=False
    )
    with pytest.raises(KeySourceError, match="not an SM2 key"):
        sm2_signer_from_pkcs12(_pkcs12(tmp_path, ec_key, ec_cert), "口令-1".encode())


def test_the_sm2_side_is_written_read_and_added_to_an_older_pki(tmp_path):
    first = ensure_dev_pki(tmp_path, ORGS, FROZEN)
    key_file, cert_file = sm2_seal_paths(tmp_path, "COMM01")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600" and cert_file.exists()
    assert load_dev_pki(tmp_path) == first
    shutil.rmtree(tmp_path / "sm2")  # a development PKI from before SM2 seals
    again = ensure_dev_pki(tmp_path, ORGS, FROZEN)
    assert again.seal("COMM01") == first.seal("COMM01") and again.sm2 is not None
    assert set(again.sm2.seals) == {"COMM01", "ISS01"} and again.sm2.root != first.sm2.root
