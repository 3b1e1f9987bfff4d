"""The development PKI on disk (``keys/``): the edge around :mod:`service.signing.devpki`.

Layout (all PEM except the DER CRLs; private keys 0600)::

    root.cert.pem root.key.pem root.crl
    seal-ca.cert.pem seal-ca.key.pem seal-ca.crl
    tsa.cert.pem tsa.key.pem
    seals/<code>.cert.pem seals/<code>.key.pem
    sm2/root.cert.pem sm2/root.key.pem sm2/maker.cert.pem sm2/maker.key.pem
    sm2/seals/<code>.cert.pem sm2/seals/<code>.key.pem     (GB/T 38540 seals)
    orgs.json            code -> name, role (the role is not in the certificate)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from cryptography.x509.oid import NameOID

from service.signing.devpki import (
    CertKey,
    DevPKI,
    Org,
    add_seal,
    as_orgs,
    generate_dev_pki,
    issue_crls,
    read_revocations,
    revoke_seal,
    seal_common_name,
)
from service.signing.devpki_sm2 import Sm2DevPKI, Sm2Pair, add_sm2_seal, generate_sm2_pki
from service.signing.errors import DevPKIError

log = logging.getLogger(__name__)
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def ensure_dev_pki(keys_dir: Path, orgs: Iterable[Org | tuple[str, str, str]], now: datetime) -> DevPKI:
    """Create or complete the development PKI in ``keys_dir``; idempotent.

    Existing CAs and seals are reused; a new organisation (or a renamed one) gets a new
    seal from the existing seal CA; both CRLs are re-issued at ``now`` keeping revocations.
    """
    keys_dir = Path(keys_dir)
    wanted = as_orgs(orgs)
    for org in wanted:
        _check_code(org.code)
    log.warning("using the DEVELOPMENT PKI in %s: seals made with it prove nothing", keys_dir)
    if not (keys_dir / "root.cert.pem").exists():
        pki = generate_dev_pki(wanted, now)
    else:
        pki = load_dev_pki(keys_dir)
        for org in wanted:
            current = pki.seals.get(org.code)
            if current is None or _common_name(current) != seal_common_name(org.name) or pki.orgs.get(org.code) != org:
                pki = add_seal(pki, org, now)
        pki = _complete_sm2(pki, wanted, now)
        pki = issue_crls(pki, now)
    write_dev_pki(keys_dir, pki)
    return pki


def load_dev_pki(keys_dir: Path) -> DevPKI:
    """Read the development PKI written by :func:`write_dev_pki`."""
    keys_dir = Path(keys_dir)
    try:
        orgs_json = json.loads((keys_dir / "orgs.json").read_text("utf-8"))
        orgs = {code: Org(code, v["name"], v["role"]) for code, v in orgs_json.items()}
        seal_ca_crl = (keys_dir / "seal-ca.crl").read_bytes()
        return DevPKI(
            root=_read_pair(keys_dir, "root"),
            seal_ca=_read_pair(keys_dir, "seal-ca"),
            tsa=_read_pair(keys_dir, "tsa"),
            seals={code: _read_pair(keys_dir / "seals", code) for code in orgs},
            orgs=orgs,
            root_crl_der=(keys_dir / "root.crl").read_bytes(),
            seal_ca_crl_der=seal_ca_crl,
            revoked=read_revocations(seal_ca_crl),
            sm2=_read_sm2(keys_dir / "sm2", orgs),
        )
    except (OSError, KeyError, ValueError) as exc:
        raise DevPKIError(f"development PKI in {keys_dir} is incomplete or unreadable: {exc}") from exc


def revoke_dev_seal(keys_dir: Path, code: str, revoked_at: datetime, now: datetime | None = None) -> DevPKI:
    """Revoke the seal of ``code`` in the on-disk PKI and rewrite the seal CA's CRL."""
    pki = revoke_seal(load_dev_pki(keys_dir), code, revoked_at, now)
    write_dev_pki(keys_dir, pki)
    return pki


def write_dev_pki(keys_dir: Path, pki: DevPKI) -> None:
    keys_dir = Path(keys_dir)
    # private keys inside: the folders are the owner's only
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (keys_dir / "seals").mkdir(mode=0o700, exist_ok=True)
    _write_pair(keys_dir, "root", pki.root)
    _write_pair(keys_dir, "seal-ca", pki.seal_ca)
    _write_pair(keys_dir, "tsa", pki.tsa)
    for code, pair in pki.seals.items():
        _check_code(code)
        _write_pair(keys_dir / "seals", code, pair)
    if pki.sm2 is not None:
        _write_sm2(keys_dir / "sm2", pki.sm2)
    _write(keys_dir / "root.crl", pki.root_crl_der)
    _write(keys_dir / "seal-ca.crl", pki.seal_ca_crl_der)
    orgs = {o.code: {"name": o.name, "role": o.role} for o in pki.orgs.values()}
    _write(keys_dir / "orgs.json", json.dumps(orgs, ensure_ascii=False, indent=2).encode("utf-8"))


def seal_paths(keys_dir: Path, code: str) -> tuple[Path, Path]:
    """(key file, certificate file) of an organisation's development seal."""
    _check_code(code)
    return (Path(keys_dir) / "seals" / f"{code}.key.pem", Path(keys_dir) / "seals" / f"{code}.cert.pem")


def sm2_seal_paths(keys_dir: Path, code: str) -> tuple[Path, Path]:
    """(key file, certificate file) of an organisation's development SM2 seal."""
    _check_code(code)
    return (Path(keys_dir) / "sm2" / "seals" / f"{code}.key.pem", Path(keys_dir) / "sm2" / "seals" / f"{code}.cert.pem")


def _complete_sm2(pki: DevPKI, wanted: list[Org], now: datetime) -> DevPKI:
    # A PKI written before SM2 seals existed gets its SM2 side now, its ECDSA keys kept.
    sm2 = pki.sm2 or generate_sm2_pki(now)
    for org in wanted:
        if org.code not in sm2.seals or pki.sm2 is None:
            sm2 = add_sm2_seal(sm2, org.code, org.name, now)
    return replace(pki, sm2=sm2)


def _read_sm2(folder: Path, orgs: dict[str, Org]) -> Sm2DevPKI | None:
    if not (folder / "root.cert.pem").exists():
        return None
    seals = {
        code: _read_sm2_pair(folder / "seals", code)
        for code in orgs
        if (folder / "seals" / f"{code}.cert.pem").exists()
    }
    return Sm2DevPKI(root=_read_sm2_pair(folder, "root"), maker=_read_sm2_pair(folder, "maker"), seals=seals)


def _read_sm2_pair(folder: Path, stem: str) -> Sm2Pair:
    pair = _read_pair(folder, stem)
    return Sm2Pair(cert_pem=pair.cert_pem, key_pem=pair.key_pem)


def _write_sm2(folder: Path, sm2: Sm2DevPKI) -> None:
    (folder / "seals").mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_pair(folder, "root", CertKey(sm2.root.cert_pem, sm2.root.key_pem))
    _write_pair(folder, "maker", CertKey(sm2.maker.cert_pem, sm2.maker.key_pem))
    for code, pair in sm2.seals.items():
        _check_code(code)
        _write_pair(folder / "seals", code, CertKey(pair.cert_pem, pair.key_pem))


def _read_pair(folder: Path, stem: str) -> CertKey:
    return CertKey(
        cert_pem=(folder / f"{stem}.cert.pem").read_bytes(),
        key_pem=(folder / f"{stem}.key.pem").read_bytes(),
    )


def _write_pair(folder: Path, stem: str, pair: CertKey) -> None:
    _write(folder / f"{stem}.cert.pem", pair.cert_pem)
    _write(folder / f"{stem}.key.pem", pair.key_pem, private=True)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    # Write-then-rename so a crash never leaves half a key; the key file is created 0600
    # so it is never world-readable, not even for a moment.
    if path.exists() and path.read_bytes() == data:
        if private:
            os.chmod(path, 0o600)
        return
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _common_name(pair: CertKey) -> str:
    attrs = pair.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _check_code(code: str) -> None:
    if not _SAFE_CODE.match(code):
        raise DevPKIError(f"organisation code {code!r} is not usable as a file name (A-Z a-z 0-9 _ . -)")


__all__ = ["ensure_dev_pki", "load_dev_pki", "revoke_dev_seal", "seal_paths", "sm2_seal_paths", "write_dev_pki"]
