"""An independent validator agrees: poppler's pdfsig with an NSS database trusting the dev root."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from service.signing.devpki import Org, add_seal, issue_crls, revoke_seal
from service.signing.keys import signer_from_pem_bytes
from service.signing.seal import seal_certificate
from tests.signing.conftest import FROZEN
from tests.signing.test_tamper import add_free_text, flip_visible_byte

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdfsig") and shutil.which("certutil")),
    reason="needs pdfsig and certutil: apt-get install poppler-utils libnss3-tools",
)


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def _trust_dev_pki(db: Path, keys_dir: Path) -> None:
    """A new NSS database trusting the development root, with the seal CA beside it."""
    _run("certutil", "-N", "-d", f"sql:{db}", "--empty-password")
    _run("certutil", "-A", "-d", f"sql:{db}", "-n", "dev-root", "-t", "C,C,C", "-i", str(keys_dir / "root.cert.pem"))
    _run("certutil", "-A", "-d", f"sql:{db}", "-n", "dev-seal-ca", "-t", ",,", "-i", str(keys_dir / "seal-ca.cert.pem"))


@pytest.fixture(scope="module")
def nss_db(kit, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("nss")
    _trust_dev_pki(db, kit.keys_dir)
    listing = _run("certutil", "-L", "-d", f"sql:{db}")
    assert "dev-root" in listing and "dev-seal-ca" in listing
    return db


def pdfsig(pdf: bytes, db: Path, tmp_path: Path) -> list[dict[str, str]]:
    """Parse pdfsig's report into one dict per signature ('Signature Validation', ...)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    # No -no-ocsp: poppler 22.x reads a stale NSS error after CERT_PKIXVerifyCert under
    # the OCSP-disabled policy and prints "Unknown issue with Certificate" for good
    # chains. The dev certificates carry no OCSP URL, so nothing is fetched anyway.
    text = _run("pdfsig", "-nssdir", f"sql:{db}", str(path))
    blocks = re.split(r"^Signature #\d+:\s*$", text, flags=re.M)[1:]
    sigs = []
    for block in blocks:
        entry = {}
        for line in block.splitlines():
            m = re.match(r"\s*- ([^:]+): (.*)$", line)
            if m:
                entry[m.group(1).strip()] = m.group(2).strip()
            elif line.strip() in ("- Total document signed", "- Not total document signed"):
                entry["coverage"] = line.strip()[2:]
        sigs.append(entry)
    return sigs


def seals_only(sigs):
    return [s for s in sigs if s.get("Signature Type") == "ETSI.CAdES.detached"]


@pytest.mark.parametrize("doc", ["sealed_bt", "sealed_lta"])
def test_pdfsig_reports_both_seals_valid_and_trusted(nss_db, tmp_path, doc, request):
    sigs = seals_only(pdfsig(request.getfixturevalue(doc), nss_db, tmp_path))
    assert [s["Signature Field Name"] for s in sigs] == ["Committee", "Issuer"]
    for sig in sigs:
        assert sig["Signature Validation"] == "Signature is Valid."
        assert sig["Certificate Validation"] == "Certificate is Trusted."
    assert sigs[0]["Signer Certificate Common Name"] == "某某省工程技术系列高级职称评审委员会"


def test_pdfsig_catches_a_changed_byte(nss_db, tmp_path, sealed_bt):
    sigs = seals_only(pdfsig(flip_visible_byte(sealed_bt), nss_db, tmp_path))
    assert len(sigs) == 2
    assert all(s["Signature Validation"] == "Digest Mismatch." for s in sigs)


def test_pdfsig_sees_the_incremental_update(nss_db, tmp_path, sealed_bt):
    # pdfsig does no difference analysis; what it can tell is that the last seal no
    # longer covers the whole file (the service reports *what* changed, see test_tamper).
    before = seals_only(pdfsig(sealed_bt, nss_db, tmp_path))
    after = seals_only(pdfsig(add_free_text(sealed_bt), nss_db, tmp_path))
    assert before[-1]["coverage"] == "Total document signed"
    assert after[-1]["coverage"] == "Not total document signed"


def test_pdfsig_rejects_a_foreign_key(nss_db, tmp_path, kit, blank_pdf):
    from service.signing.devpki import generate_dev_pki

    stranger = generate_dev_pki([("X1", "冒名评审委员会", "committee")], FROZEN)
    pair = stranger.seal("X1")
    signer = signer_from_pem_bytes(pair.key_pem, pair.cert_pem, stranger.seal_ca.cert_pem)
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    committee, issuer = seals_only(pdfsig(doc, nss_db, tmp_path))
    assert committee["Signature Validation"] == "Signature is Valid."
    assert committee["Certificate Validation"] != "Certificate is Trusted."
    assert issuer["Certificate Validation"] == "Certificate is Trusted."


def test_pdfsig_rejects_an_expired_seal(nss_db, tmp_path, kit, blank_pdf):
    pki = add_seal(
        kit.pki,
        Org("OLD02", "过期评审委员会", "committee"),
        FROZEN,
        not_before=FROZEN - timedelta(days=900),
        not_after=FROZEN - timedelta(days=400),
    )
    pair = pki.seal("OLD02")
    signer = signer_from_pem_bytes(pair.key_pem, pair.cert_pem, pki.seal_ca.cert_pem)
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    committee = seals_only(pdfsig(doc, nss_db, tmp_path))[0]
    assert committee["Certificate Validation"] == "Certificate has Expired"


def test_pdfsig_rejects_a_revoked_seal(kit, blank_pdf, tmp_path, tmp_path_factory):
    if not shutil.which("crlutil"):
        pytest.skip("crlutil (libnss3-tools) is needed to load the CRL into NSS")
    pki = add_seal(kit.pki, Org("REV02", "吊销评审委员会", "committee"), FROZEN)
    pki = issue_crls(revoke_seal(pki, "REV02", FROZEN - timedelta(days=1), FROZEN), FROZEN)
    pair = pki.seal("REV02")
    signer = signer_from_pem_bytes(pair.key_pem, pair.cert_pem, pki.seal_ca.cert_pem)
    doc = seal_certificate(blank_pdf, replace(kit.committee(), signer=signer), kit.issuer(), "B-T")
    db = tmp_path_factory.mktemp("nss-crl")
    crl = tmp_path / "seal-ca.crl"
    crl.write_bytes(pki.seal_ca_crl_der)
    _trust_dev_pki(db, kit.keys_dir)
    # -B: the CRL's nextUpdate is relative to the frozen clock, not to today
    _run("crlutil", "-I", "-d", f"sql:{db}", "-i", str(crl), "-t", "1", "-B")
    committee = seals_only(pdfsig(doc, db, tmp_path))[0]
    assert committee["Certificate Validation"] == "Certificate has been Revoked."
