"""Organisations: the embedded default on first start, ``keys init``, ``orgs add|update|list``
and their errors, start-up checks of the production configuration."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from service.cli.main import main
from service.config import Settings
from service.registry.db import make_engine, migrate, session_factory, transaction
from service.registry.models import Organisation
from service.registry.orgs import add_org, get_org, list_orgs
from service.sealing.orgs import DEFAULT_ORGS
from service.sealing.startup import StartupError
from tests.conftest import load_contract

COMMITTEE, ISSUER = DEFAULT_ORGS


def open_registry(settings: Settings):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.registry_url)
    migrate(engine)
    return session_factory(engine)


def run_cli(*argv: str, data_dir: Path) -> subprocess.CompletedProcess:
    """The real command line, in a fresh process (exit code and exact stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "service", *argv, "--data-dir", str(data_dir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def key_files(keys_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(keys_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(keys_dir.rglob("*.pem"))
    }


def test_default_orgs_are_those_of_the_contract():
    request = load_contract("certificate-request.json")
    assert (COMMITTEE.code, COMMITTEE.name) == (request["committee"]["code"], request["committee"]["name"])
    assert (ISSUER.code, ISSUER.name) == (request["issuer"]["code"], request["issuer"]["name"])


def test_first_start_creates_dev_pki_and_default_orgs(tmp_path, caplog):
    from fastapi.testclient import TestClient

    from service.app import create_app

    settings = Settings(data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        pool = client.app.state.services.sealers
        assert pool.has_key(COMMITTEE.code) and pool.has_key(ISSUER.code)
        assert pool.level.name == "B-LTA"
    keys_dir = settings.data_dir / "keys"
    for name in (
        "root.cert.pem",
        "seal-ca.cert.pem",
        "tsa.cert.pem",
        "root.crl",
        "seal-ca.crl",
        f"seals/{COMMITTEE.code}.key.pem",
        f"seals/{ISSUER.code}.cert.pem",
    ):
        assert (keys_dir / name).is_file(), name
    with open_registry(settings)() as session:
        orgs = {o.code: o for o in list_orgs(session)}
    assert set(orgs) == {COMMITTEE.code, ISSUER.code}
    assert orgs[COMMITTEE.code].role == "committee" and orgs[ISSUER.code].role == "issuer"
    assert orgs[COMMITTEE.code].name == COMMITTEE.name
    assert all(o.key_source == {"kind": "dev"} and o.active for o in orgs.values())
    assert orgs[COMMITTEE.code].seal_bottom_text == "职称评审专用章"
    assert orgs[ISSUER.code].seal_bottom_text is None
    loud = [r for r in caplog.records if r.levelno == logging.WARNING and "NOT FOR PRODUCTION" in r.getMessage()]
    assert loud and str(keys_dir.resolve()) in loud[0].getMessage()
    assert "TIME-STAMPING" in loud[0].getMessage()


def test_second_start_reuses_keys_and_orgs(tmp_path):
    from fastapi.testclient import TestClient

    from service.app import create_app

    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)):
        pass
    before = key_files(settings.keys_dir)
    with TestClient(create_app(settings)):
        pass
    assert key_files(settings.keys_dir) == before
    with open_registry(settings)() as session:
        assert len(list_orgs(session)) == 2


def test_keys_init_is_idempotent(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["keys", "init", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "DEVELOPMENT ONLY" in out and COMMITTEE.code in out and ISSUER.name in out
    before = key_files(data / "keys")
    # root, seal CA, TSA, two seals; the SM2 root, seal maker and two SM2 seals: certificate + key each
    assert len(before) == 2 * 9
    assert main(["keys", "init", "--data-dir", str(data)]) == 0
    assert key_files(data / "keys") == before  # CRLs may be re-issued, keys never
    with open_registry(Settings(data_dir=data))() as session:
        assert {o.code for o in list_orgs(session)} == {COMMITTEE.code, ISSUER.code}


def test_keys_init_refuses_when_the_dev_pki_is_off(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZC_DEV_PKI", "false")
    assert main(["keys", "init", "--data-dir", str(tmp_path)]) == 2
    assert "ZC_DEV_PKI=false" in capsys.readouterr().err
    assert not (tmp_path / "keys").exists()


def test_orgs_add_with_dev_key_and_without_key_then_list(tmp_path, capsys):
    data = str(tmp_path / "data")
    assert (
        main(
            [
                "orgs",
                "add",
                "--code",
                "4201-GC",
                "--name",
                "武汉市工程技术评委会",
                "--role",
                "committee",
                "--data-dir",
                data,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "orgs",
                "add",
                "--code",
                "NOKEY",
                "--name",
                "某市人社局",
                "--role",
                "issuer",
                "--no-key",
                "--seal-bottom-text",
                "证书专用章",
                "--data-dir",
                data,
            ]
        )
        == 0
    )
    assert (tmp_path / "data" / "keys" / "seals" / "4201-GC.cert.pem").is_file()
    capsys.readouterr()
    assert main(["orgs", "list", "--data-dir", data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["CODE", "ROLE", "NAME", "KEY", "CERTIFICATE", "EXPIRES", "SEAL", "IMAGE", "ACTIVE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    # a development key means the embedded default: its two organisations come along
    assert set(rows) == {"4201-GC", "NOKEY", COMMITTEE.code, ISSUER.code}
    gc = rows["4201-GC"].split()
    assert gc[:4] == ["4201-GC", "committee", "武汉市工程技术评委会", "dev"]
    assert gc[4] == "武汉市工程技术评委会"  # the seal certificate's organisation
    assert datetime.fromisoformat(gc[5]).year >= datetime.now(UTC).year + 4
    assert rows["4201-GC"].rstrip().endswith("generated +职称评审专用章  yes")
    nokey = rows["NOKEY"].split()
    assert nokey[3:6] == ["none", "-", "-"] and "generated +证书专用章" in rows["NOKEY"]


def test_orgs_add_with_a_seal_png(tmp_path, capsys):
    from service.documents.seal_image import default_seal_font, render_round_seal

    png = tmp_path / "seal.png"
    png.write_bytes(render_round_seal("某某市人力资源和社会保障局", None, default_seal_font()))
    data = tmp_path / "data"
    assert (
        main(
            [
                "orgs",
                "add",
                "--code",
                "PNG1",
                "--name",
                "某某市人力资源和社会保障局",
                "--role",
                "issuer",
                "--seal-image",
                str(png),
                "--data-dir",
                str(data),
            ]
        )
        == 0
    )
    stored = data / "seals" / "PNG1.png"
    assert stored.read_bytes().startswith(b"\x89PNG")
    with open_registry(Settings(data_dir=data))() as session:
        org = get_org(session, "PNG1")
    assert org.seal_image_path == "seals/PNG1.png" and org.seal_bottom_text is None
    capsys.readouterr()
    main(["orgs", "list", "--data-dir", str(data)])
    assert "file seals/PNG1.png" in capsys.readouterr().out
    from service.sealing.startup import build_sealer_pool

    pool = build_sealer_pool(Settings(data_dir=data), open_registry(Settings(data_dir=data)), datetime.now(UTC))
    assert pool.sealer("PNG1").seal_png == stored.read_bytes()  # the supplied image, not a drawn one


def test_orgs_update_key_seal_and_status(tmp_path, capsys):
    data = str(tmp_path / "data")
    main(
        ["orgs", "add", "--code", "UPD", "--name", "某某评委会", "--role", "committee", "--no-key", "--data-dir", data]
    )
    assert (
        main(
            [
                "orgs",
                "update",
                "--code",
                "UPD",
                "--dev-key",
                "--seal-bottom-text",
                "评审专用章",
                "--deactivate",
                "--data-dir",
                data,
            ]
        )
        == 0
    )
    with open_registry(Settings(data_dir=Path(data)))() as session:
        org = get_org(session, "UPD")
        assert org.key_source == {"kind": "dev"} and org.seal_bottom_text == "评审专用章" and not org.active
    assert main(["orgs", "update", "--code", "NOPE", "--activate", "--data-dir", data]) == 2
    assert "没有代码为 NOPE 的机构" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--code", "X1", "--name", "某单位", "--role", "boss"], "unknown role 'boss'"),
        (["--code", COMMITTEE.code, "--name", "某单位", "--role", "committee"], f"机构 {COMMITTEE.code} 已存在"),
        (
            [
                "--code",
                "X2",
                "--name",
                "某单位",
                "--role",
                "issuer",
                "--key-pem",
                "/nonexistent/seal.key.pem",
                "--cert-pem",
                "/nonexistent/seal.cert.pem",
            ],
            "cannot read /nonexistent/seal.key.pem",
        ),
        (["--code", "X3", "--name", "某单位", "--role", "issuer", "--seal-image", "__file__"], "must be a PNG"),
        (
            ["--code", "X4", "--name", "某单位", "--role", "issuer", "--key-p12", "a.p12", "--pkcs11-module", "x.so"],
            "choose one key source",
        ),
        (
            [
                "--code",
                "X5",
                "--name",
                "某单位",
                "--role",
                "issuer",
                "--key-p12",
                "a.p12",
                "--passphrase-env",
                "pw 123",
            ],
            "NAME of an environment variable",
        ),
        (["--code", "../x", "--name", "某单位", "--role", "issuer", "--no-key"], "只能由 1-64 个字母"),
    ],
)
def test_orgs_add_errors_are_one_line_and_exit_2(tmp_path, argv, message):
    data = tmp_path / "data"
    with transaction(open_registry(Settings(data_dir=data))) as session:
        add_org(session, COMMITTEE.code, COMMITTEE.name, "committee", datetime.now(UTC), key_source={"kind": "dev"})
    argv = [str(Path(__file__)) if a == "__file__" else a for a in argv]
    done = run_cli("orgs", "add", *argv, data_dir=data)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert message in done.stderr
    assert done.stdout == ""
    with open_registry(Settings(data_dir=data))() as session:
        assert [o.code for o in list_orgs(session)] == [COMMITTEE.code]  # nothing half-written


def test_without_dev_pki_an_org_needs_a_key_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZC_DEV_PKI", "false")
    assert (
        main(["orgs", "add", "--code", "P1", "--name", "某单位", "--role", "issuer", "--data-dir", str(tmp_path)]) == 2
    )
    assert "--no-key" in capsys.readouterr().err
    assert (
        main(
            [
                "orgs",
                "add",
                "--code",
                "P1",
                "--name",
                "某单位",
                "--role",
                "issuer",
                "--no-key",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 0
    )


def test_startup_without_dev_pki_fails_on_a_missing_key_file(tmp_path):
    from fastapi.testclient import TestClient

    from service.app import create_app

    settings = Settings(data_dir=tmp_path / "data", dev_pki=False, tsa_url="http://tsa.invalid/tsr")
    missing = tmp_path / "gone" / "seal.key.pem"
    with transaction(open_registry(settings)) as session:
        add_org(
            session,
            "PROD1",
            "某省人社厅",
            "issuer",
            datetime.now(UTC),
            key_source={"kind": "pem", "key_path": str(missing), "cert_path": str(tmp_path / "c.pem")},
        )
    with pytest.raises(StartupError) as caught, TestClient(create_app(settings)):
        pass
    message = str(caught.value)
    assert "PROD1" in message and f"cannot read {missing}" in message
    assert not settings.keys_dir.exists()  # nothing of the development PKI in production


def test_startup_without_dev_pki_refuses_dev_keys_and_needs_a_tsa(tmp_path):
    from service.sealing.startup import build_sealer_pool

    settings = Settings(data_dir=tmp_path / "data", dev_pki=False)
    sessions = open_registry(settings)
    assert build_sealer_pool(settings, sessions, datetime.now(UTC)).codes() == []  # nothing to seal with: fine
    with transaction(sessions) as session:
        add_org(session, "DEV1", "某评委会", "committee", datetime.now(UTC), key_source={"kind": "dev"})
    with pytest.raises(StartupError, match="DEV1.*development key but ZC_DEV_PKI=false"):
        build_sealer_pool(settings, sessions, datetime.now(UTC))


def test_deactivated_and_keyless_orgs_have_no_sealer(tmp_path):
    from service.registry.orgs import set_org_active, update_key_source
    from service.sealing.startup import build_sealer_pool

    settings = Settings(data_dir=tmp_path / "data")
    sessions = open_registry(settings)
    now = datetime.now(UTC)
    build_sealer_pool(settings, sessions, now)  # creates the defaults
    with transaction(sessions) as session:
        set_org_active(session, COMMITTEE.code, False, now)
        update_key_source(session, ISSUER.code, None, now)
    pool = build_sealer_pool(settings, sessions, now)
    assert not pool.has_key(COMMITTEE.code) and not pool.has_key(ISSUER.code)
    with sessions() as session:  # the defaults are not re-added or re-keyed behind the operator's back
        rows = session.scalars(select(Organisation)).all()
    assert {(o.code, o.active, o.key_source is None) for o in rows} == {
        (COMMITTEE.code, False, False),
        (ISSUER.code, True, True),
    }


def test_concurrent_first_starts_make_one_consistent_pki(tmp_path):
    from cryptography import x509

    data = tmp_path / "data"
    open_registry(Settings(data_dir=data))  # the schema first: this test is about the keys
    starts = [
        subprocess.Popen(
            [sys.executable, "-m", "service", "keys", "init", "--data-dir", str(data)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for process in starts:
        assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    keys = data / "keys"
    root = x509.load_pem_x509_certificate((keys / "root.cert.pem").read_bytes())
    seal_ca = x509.load_pem_x509_certificate((keys / "seal-ca.cert.pem").read_bytes())
    seal_ca.verify_directly_issued_by(root)
    for org in DEFAULT_ORGS:
        x509.load_pem_x509_certificate(
            (keys / "seals" / f"{org.code}.cert.pem").read_bytes()
        ).verify_directly_issued_by(seal_ca)
    with open_registry(Settings(data_dir=data))() as session:
        assert len(list_orgs(session)) == 2


def test_a_name_no_certificate_can_carry_is_refused_before_anything_is_added(tmp_path):
    """Found by the API fuzzer: a name with a code point unassigned in Unicode 3.2 (which
    X.509 string preparation uses) was added, and every later reload of the seals failed."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.config import Settings
    from tests.conftest import auth, make_key

    settings = Settings(data_dir=tmp_path / "data", batch_warm=False)
    with TestClient(create_app(settings)) as client:
        admin = make_key(settings, "admin")
        bad = client.post(
            "/api/v1/organisations",
            headers=auth(admin),
            json={"code": "990001", "name": "测试\u0378评委会", "role": "committee"},
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["errors"][0]["path"] == "name" and "U+0378" in bad.json()["errors"][0]["message"]
        # A rare but assigned character (CJK Extension B) is fine.
        good = client.post(
            "/api/v1/organisations",
            headers=auth(admin),
            json={"code": "990002", "name": "𠇔县评委会", "role": "committee"},
        )
        assert good.status_code == 201, good.text
        assert client.post("/api/v1/organisations/reload", headers=auth(admin)).status_code == 200
