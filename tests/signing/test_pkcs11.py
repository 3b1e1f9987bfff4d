"""Sealing with a key on a PKCS#11 token: SoftHSM2 in a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from service.sealing.key_sources import KeySource, load_signer
from service.signing.errors import KeySourceError
from service.signing.keys import close_signer
from service.signing.seal import seal_certificate
from service.signing.validate import validate_pdf
from tests.signing.conftest import FROZEN

SOFTHSM_CANDIDATES = [
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/local/lib/softhsm/libsofthsm2.so"),
]
SOFTHSM = next((p for p in SOFTHSM_CANDIDATES if p.is_file()), None)
TOKEN = "zc-seal-test"
PIN = "246810"
SO_PIN = "13579111"
PIN_ENV = "ZC_TEST_TOKEN_PIN"

pytestmark = pytest.mark.skipif(
    SOFTHSM is None, reason="libsofthsm2.so not found: apt-get install softhsm2 to run the PKCS#11 tests"
)


@pytest.fixture(scope="module")
def token(kit, tmp_path_factory):
    """A SoftHSM2 token holding the committee's seal key and certificate (label 'committee')."""
    if shutil.which("softhsm2-util") is None:
        pytest.fail("softhsm2-util is missing although libsofthsm2.so is installed")
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    # SoftHSM reads SOFTHSM2_CONF when the library initialises, once per process.
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    env = {**os.environ}
    util = ["softhsm2-util", "--module", str(SOFTHSM)]
    _check(util + ["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN], env)
    pair = kit.pki.seal("COMM01")
    key_file = home / "committee.key.pem"
    key_file.write_bytes(pair.key_pem)  # PKCS#8, as softhsm2-util --import wants
    _check(
        util + ["--import", str(key_file), "--token", TOKEN, "--label", "committee", "--id", "01", "--pin", PIN], env
    )
    key_file.unlink()
    _import_certificate(pair.cert_pem)
    chain = home / "chain.pem"
    chain.write_bytes(kit.pki.seal_ca.cert_pem + kit.pki.root.cert_pem)
    yield KeySource.pkcs11(SOFTHSM, TOKEN, "committee", pin_env=PIN_ENV, chain_path=chain)
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


def _check(cmd: list[str], env: dict) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _import_certificate(cert_pem: bytes) -> None:
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    cert = x509.load_pem_x509_certificate(cert_pem)
    from cryptography.hazmat.primitives import serialization

    lib = pkcs11.lib(str(SOFTHSM))
    with lib.get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "committee",
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
            }
        )


def test_seal_with_a_token_key_and_validate(kit, token, blank_pdf):
    signer = load_signer(token, environ={PIN_ENV: PIN})
    try:
        doc = seal_certificate(blank_pdf, kit.committee("B-LTA", signer=signer), kit.issuer("B-LTA"), "B-LTA")
        again = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")  # session reused
    finally:
        close_signer(signer)
    report = validate_pdf(doc, kit.trust, at=FROZEN)
    assert report.verdict == "valid", report.reasons
    assert report.pades_level == "B-LTA"
    assert report.seals[0].certificate.sha256 == _sha256(kit.pki.seal("COMM01").cert_der)
    assert validate_pdf(again, kit.trust, at=FROZEN).valid


def test_missing_pin_variable_is_a_clear_error(token):
    with pytest.raises(KeySourceError, match=PIN_ENV):
        load_signer(token, environ={})


def test_wrong_pin_is_a_clear_error(token):
    with pytest.raises(KeySourceError):
        load_signer(token, environ={PIN_ENV: "000000"})


def test_unknown_key_label_is_a_clear_error(token):
    from dataclasses import replace

    with pytest.raises(KeySourceError):
        load_signer(replace(token, key_label="nobody", cert_label="nobody"), environ={PIN_ENV: PIN})


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
