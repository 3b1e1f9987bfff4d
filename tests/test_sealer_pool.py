"""The sealer pool with every kind of key source, added through the command line:
PEM (passphrase from the environment, certified by a CA of the operator's own, given as
a trust root with its CRLs), PKCS#12 and a SoftHSM2 token (both certified by the
development seal CA). Frozen clock: development PKI, TSA and validation at FROZEN."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from service.cli.main import main
from service.config import Settings
from service.documents.certificate_layout import SealArea
from service.registry.db import make_engine, migrate, session_factory
from service.sealing.devpki_store import load_dev_pki
from service.sealing.orgs import DEFAULT_ORGS, ensure_dev_keys
from service.sealing.pool import NoSealKey
from service.sealing.startup import build_sealer_pool
from service.signing.devpki import Org, add_seal, generate_dev_pki
from tests.signing.conftest import FROZEN, make_certificate_pdf
from tests.signing.test_pkcs11 import SOFTHSM

COMMITTEE, ISSUER = DEFAULT_ORGS
AREAS = (SealArea("Committee", 0, (520.0, 60.0, 633.4, 173.4)), SealArea("Issuer", 0, (660.0, 60.0, 773.4, 173.4)))
PASS_ENV, PASSPHRASE = "ZC_TEST_SEAL_PASSPHRASE", "correct horse 电池"
PIN_ENV, PIN, SO_PIN, TOKEN = "ZC_TEST_POOL_PIN", "135790", "24681012", "zc-pool-test"


@dataclass
class Setup:
    settings: Settings
    sessions: object
    data: Path
    environ: dict


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    """A data dir with the embedded default at FROZEN, an operator's own CA (trusted
    through the settings), and an encrypted PEM and a PKCS#12 seal added by the CLI."""
    root = tmp_path_factory.mktemp("pool")
    data = root / "data"
    own = generate_dev_pki([("PEMISS", "某某市人力资源和社会保障局", "issuer")], FROZEN)  # "the operator's CA"
    (root / "own-root.pem").write_bytes(own.root.cert_pem)
    (root / "own-chain.pem").write_bytes(own.seal_ca.cert_pem)
    (root / "own-root.crl").write_bytes(own.root_crl_der)
    (root / "own-seal-ca.crl").write_bytes(own.seal_ca_crl_der)
    settings = Settings(
        data_dir=data, trust_roots=(root / "own-root.pem",), crl_files=(root / "own-root.crl", root / "own-seal-ca.crl")
    )
    data.mkdir()
    engine = make_engine(settings.registry_url)
    migrate(engine)
    sessions = session_factory(engine)
    dev = ensure_dev_keys(settings, sessions, FROZEN)

    pem = own.seal("PEMISS")
    key = serialization.load_pem_private_key(pem.key_pem, None)
    (root / "pem.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    (root / "pem.crt").write_bytes(pem.cert_pem)
    environ = {PASS_ENV: PASSPHRASE, PIN_ENV: PIN}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASS_ENV, PASSPHRASE)
        assert (
            main(
                [
                    "orgs",
                    "add",
                    "--code",
                    "PEMISS",
                    "--name",
                    "某某市人力资源和社会保障局",
                    "--role",
                    "issuer",
                    "--key-pem",
                    str(root / "pem.key"),
                    "--cert-pem",
                    str(root / "pem.crt"),
                    "--chain",
                    str(root / "own-chain.pem"),
                    "--passphrase-env",
                    PASS_ENV,
                    "--data-dir",
                    str(data),
                ]
            )
            == 0
        )

        p12 = add_seal(dev, Org("P12COMM", "某某市工程技术中级评审委员会", "committee"), FROZEN).seal("P12COMM")
        (root / "seal.p12").write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"seal",
                serialization.load_pem_private_key(p12.key_pem, None),
                p12.cert,
                [dev.seal_ca.cert],
                serialization.BestAvailableEncryption(PASSPHRASE.encode()),
            )
        )
        assert (
            main(
                [
                    "orgs",
                    "add",
                    "--code",
                    "P12COMM",
                    "--name",
                    "某某市工程技术中级评审委员会",
                    "--role",
                    "committee",
                    "--key-p12",
                    str(root / "seal.p12"),
                    "--passphrase-env",
                    PASS_ENV,
                    "--data-dir",
                    str(data),
                ]
            )
            == 0
        )
    return Setup(settings, sessions, data, environ)


@pytest.fixture(scope="module")
def pool(setup):
    pool = build_sealer_pool(setup.settings, setup.sessions, FROZEN, environ=setup.environ, fixed_time=FROZEN)
    yield pool
    pool.close()


def check_both_seals(pool, pdf: bytes, committee: str, issuer: str) -> None:
    report = pool.validate(pdf)
    assert report.verdict == "valid", report.reasons
    assert report.pades_level == "B-LTA"
    first, second = report.seals
    assert (first.field_name, first.kind, second.field_name, second.kind) == (
        "Committee",
        "certify",
        "Issuer",
        "approve",
    )
    assert first.docmdp == "FILL_FORMS" and first.docmdp_respected
    assert first.organisation == committee and second.organisation == issuer
    assert all(s.timestamp.time == FROZEN and s.revocation_checked for s in report.seals)


def test_pool_holds_every_org_with_a_key(pool):
    assert pool.codes() == sorted([COMMITTEE.code, ISSUER.code, "P12COMM", "PEMISS"])
    assert pool.level.name == "B-LTA"
    assert not pool.has_key("NOBODY")


def test_pem_key_with_passphrase_and_own_ca(pool):
    sealed = pool.seal(make_certificate_pdf(), COMMITTEE.code, "PEMISS", AREAS)
    check_both_seals(pool, sealed, COMMITTEE.name, "某某市人力资源和社会保障局")


def test_pkcs12_key(pool):
    sealed = pool.seal(make_certificate_pdf(), "P12COMM", ISSUER.code, AREAS)
    check_both_seals(pool, sealed, "某某市工程技术中级评审委员会", ISSUER.name)


def test_async_seal_for_batch_workers(pool):
    async def batch():
        docs = [make_certificate_pdf(b"Certificate No. %d" % n) for n in range(3)]
        return await asyncio.gather(*(pool.async_seal(d, COMMITTEE.code, ISSUER.code, AREAS) for d in docs))

    for sealed in asyncio.run(batch()):
        check_both_seals(pool, sealed, COMMITTEE.name, ISSUER.name)


def test_threads_share_the_pool(pool):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as workers:
        docs = list(
            workers.map(lambda n: pool.seal(make_certificate_pdf(b"No. %d" % n), "P12COMM", "PEMISS", AREAS), range(8))
        )
    for sealed in docs:
        check_both_seals(pool, sealed, "某某市工程技术中级评审委员会", "某某市人力资源和社会保障局")


def test_roles_and_unknown_orgs_are_refused(pool):
    from service.errors import InvalidInput

    with pytest.raises(InvalidInput, match="登记为发证机关，不能作为评委会签章"):
        pool.seal(make_certificate_pdf(), ISSUER.code, COMMITTEE.code, AREAS)
    with pytest.raises(NoSealKey):
        pool.seal(make_certificate_pdf(), "NOBODY", ISSUER.code, AREAS)


def test_b_t_when_configured(setup):
    settings = setup.settings.model_copy(update={"seal_level": "B-T"})
    pool = build_sealer_pool(settings, setup.sessions, FROZEN, environ=setup.environ, fixed_time=FROZEN)
    report = pool.validate(pool.seal(make_certificate_pdf(), "P12COMM", "PEMISS", AREAS))
    assert report.verdict == "valid" and report.pades_level == "B-T" and not report.document_timestamps


@pytest.mark.parametrize(
    ("setting", "revocation", "tsa", "level"),
    [
        ("auto", True, True, "B-LTA"),
        ("auto", False, True, "B-T"),
        ("auto", True, False, "B-T"),
        ("B-T", True, True, "B-T"),
        ("B-LTA", True, True, "B-LTA"),
    ],
)
def test_choose_level(setting, revocation, tsa, level):
    from service.sealing.startup import choose_level

    assert choose_level(setting, revocation, tsa) == level


def test_b_lta_without_revocation_data_is_a_startup_error():
    from service.sealing.startup import StartupError, choose_level

    with pytest.raises(StartupError, match="ZC_CRL_FILES"):
        choose_level("B-LTA", False, True)


def test_secrets_are_never_stored(setup):
    db = (setup.data / "registry.sqlite3").read_bytes() + (setup.data / "registry.sqlite3-wal").read_bytes()
    assert PASSPHRASE.encode() not in db and PASS_ENV.encode() in db


def test_wrong_passphrase_fails_startup_naming_the_org(setup):
    from service.sealing.startup import StartupError

    with pytest.raises(StartupError, match=r"P12COMM .*pkcs12 seal key.*PEMISS .*pem seal key"):
        build_sealer_pool(setup.settings, setup.sessions, FROZEN, environ={PASS_ENV: "wrong", PIN_ENV: PIN})


@pytest.fixture
def token(setup, tmp_path, monkeypatch):
    """A SoftHSM2 token holding a seal key certified by the development seal CA."""
    if SOFTHSM is None:
        pytest.skip("libsofthsm2.so not found: apt-get install softhsm2 to run the PKCS#11 tests")
    if shutil.which("softhsm2-util") is None:
        pytest.fail("softhsm2-util is missing although libsofthsm2.so is installed")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    util = ["softhsm2-util", "--module", str(SOFTHSM)]
    _run(util + ["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN])
    dev = load_dev_pki(setup.settings.keys_dir)
    pair = add_seal(dev, Org("HSMISS", "某某省人力资源和社会保障厅（HSM）", "issuer"), FROZEN).seal("HSMISS")
    (tmp_path / "k.pem").write_bytes(pair.key_pem)
    _run(util + ["--import", str(tmp_path / "k.pem"), "--token", TOKEN, "--label", "seal", "--id", "01", "--pin", PIN])
    (tmp_path / "k.pem").unlink()
    # SoftHSM reads its configuration and finds its tokens when initialised, once per
    # process: an earlier test may have initialised it with another token directory.
    _reinitialise_softhsm()
    _import_certificate(pair.cert_pem)
    yield
    monkeypatch.undo()
    import pkcs11

    pkcs11.unload(str(SOFTHSM))  # whoever loads it next initialises it with their configuration


def test_pkcs11_key_added_by_the_cli(setup, token, monkeypatch, capsys):
    monkeypatch.setenv(PIN_ENV, PIN)
    assert (
        main(
            [
                "orgs",
                "add",
                "--code",
                "HSMISS",
                "--name",
                "某某省人力资源和社会保障厅（HSM）",
                "--role",
                "issuer",
                "--pkcs11-module",
                str(SOFTHSM),
                "--token-label",
                TOKEN,
                "--key-label",
                "seal",
                "--pin-env",
                PIN_ENV,
                "--data-dir",
                str(setup.data),
            ]
        )
        == 0
    )
    capsys.readouterr()
    main(["orgs", "list", "--data-dir", str(setup.data)])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("HSMISS"))
    assert f"pkcs11 {TOKEN}/seal" in row and "（HSM）" in row.split("seal")[-1]
    pool = build_sealer_pool(setup.settings, setup.sessions, FROZEN, environ=setup.environ, fixed_time=FROZEN)
    try:
        assert pool.has_key("HSMISS")
        sealed = pool.seal(make_certificate_pdf(), "P12COMM", "HSMISS", AREAS)
        again = pool.seal(make_certificate_pdf(b"second"), COMMITTEE.code, "HSMISS", AREAS)  # session reused
    finally:
        pool.close()
    check_both_seals(pool, sealed, "某某市工程技术中级评审委员会", "某某省人力资源和社会保障厅（HSM）")
    check_both_seals(pool, again, COMMITTEE.name, "某某省人力资源和社会保障厅（HSM）")


def _reinitialise_softhsm() -> None:
    import pkcs11

    if str(SOFTHSM) in getattr(pkcs11, "_loaded", {}):
        pkcs11.lib(str(SOFTHSM)).reinitialize()


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _import_certificate(cert_pem: bytes) -> None:
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    cert = x509.load_pem_x509_certificate(cert_pem)
    with pkcs11.lib(str(SOFTHSM)).get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "seal",
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
            }
        )
