"""Organisations at the edge: key sources as stored JSON, seal images on disk, the
embedded default (development PKI + the contract's two organisations).

Key source JSON, as kept in ``organisations.key_source``::

    {"kind": "dev"}                                    development key in <data>/keys
    {"kind": "pem", "key_path", "cert_path", ["chain_path"], ["secret_env"]}
    {"kind": "pkcs12", "key_path", ["chain_path"], ["secret_env"]}
    {"kind": "pkcs11", "module_path", "token_label", "key_label", ["cert_label"],
     "secret_env", ["chain_path"]}

``secret_env`` is the *name* of the environment variable holding the passphrase or PIN.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.documents.seal_image import SealImageError, check_seal_png, default_seal_font, render_round_seal
from service.errors import InvalidInput, NotFound
from service.registry.db import transaction
from service.registry.models import Organisation
from service.registry.orgs import (
    add_org,
    get_org,
    list_orgs,
    set_org_active,
    update_key_source,
    update_seal_image,
)
from service.registry.published_keys import record_key
from service.sealing.devpki_store import ensure_dev_pki, seal_paths
from service.sealing.key_sources import KeySource, load_signer
from service.sealing.payload_signing import key_entry_for
from service.signing.devpki import Org
from service.signing.errors import KeySourceError
from service.signing.keys import close_signer, signer_from_pem_bytes

log = logging.getLogger(__name__)

DEV_KEY = {"kind": "dev"}
_PATH_FIELDS = ("key_path", "cert_path", "chain_path", "module_path")
_FIELDS = (*_PATH_FIELDS, "secret_env", "token_label", "key_label", "cert_label")


@dataclass(frozen=True)
class DefaultOrg:
    code: str
    name: str
    role: str


# The two organisations of the contract's certificate request
# (tests/data/contract/certificate-request.json): they exist after the first start.
DEFAULT_ORGS = (
    DefaultOrg("420001", "湖北省工程技术中级专业技术职务任职资格评审委员会", "committee"),
    DefaultOrg("11420000011043123X", "湖北省人力资源和社会保障厅", "issuer"),
)


# --- key sources --------------------------------------------------------------------------


def key_source_json(source) -> dict:
    """A :class:`service.signing.KeySource` as stored JSON (absolute paths, symlinks kept, no None)."""
    data = {"kind": source.kind}
    for name in _FIELDS:
        value = getattr(source, name)
        if value is not None:
            data[name] = str(Path(value).absolute()) if name in _PATH_FIELDS else value
    return data


def key_source_from_json(data: Mapping):
    """The stored JSON back as a ``KeySource`` (not for ``dev``: see :func:`open_signer`)."""

    if data.get("kind") not in ("pem", "pkcs12", "pkcs11"):
        raise KeySourceError(f"not a file or token key source: {data.get('kind')!r}")
    fields: dict[str, Any] = {k: (Path(v) if k in _PATH_FIELDS else v) for k, v in data.items() if k in _FIELDS}
    return KeySource(kind=data["kind"], **fields)


def open_signer(code: str, key_source: Mapping, dev_pki=None, environ: Mapping[str, str] | None = None):
    """Load the pyHanko signer of organisation ``code``'s stored key source (``dev_pki``:
    the loaded development PKI, for ``kind == "dev"``).

    Raises ``KeySourceError`` (a missing file, a wrong passphrase, an absent token).
    """

    if key_source.get("kind") == "dev":
        if dev_pki is None:
            raise KeySourceError("a development key, but the development PKI is off (ZC_DEV_PKI=false)")
        pair = dev_pki.seal(code)
        return signer_from_pem_bytes(pair.key_pem, pair.cert_pem, dev_pki.seal_ca.cert_pem)
    return load_signer(key_source_from_json(key_source), environ)


def check_key_source(code: str, key_source: Mapping, environ: Mapping[str, str] | None = None) -> str | None:
    """Fail now, not at the next start, when a key source cannot work.

    With its secret in the environment the key is opened for real; without it, only the
    files are checked and a note saying so is returned (the secret may live only in the
    service's environment).
    """

    environ = os.environ if environ is None else environ
    secret_env = key_source.get("secret_env")
    if secret_env and secret_env not in environ:
        for name in _PATH_FIELDS:
            if name in key_source and not os.access(key_source[name], os.R_OK):
                raise KeySourceError(f"cannot read {key_source[name]}")
        return f"not opened: ${secret_env} is not set here; it must be set where the service runs"
    close_signer(open_signer(code, key_source, environ=environ))
    return None


def read_seal_certificate(org: Organisation, keys_dir: Path, environ: Mapping[str, str] | None = None):
    """The seal certificate (``cryptography``) of an organisation, for listings."""

    source = org.key_source or {}
    kind = source.get("kind")
    try:
        if kind == "dev":
            return x509.load_pem_x509_certificate(seal_paths(keys_dir, org.code)[1].read_bytes())
        if kind == "pem":
            return x509.load_pem_x509_certificate(Path(source["cert_path"]).read_bytes())
    except (OSError, ValueError) as exc:
        raise KeySourceError(f"cannot read the certificate: {exc}") from exc
    signer = open_signer(org.code, source, environ=environ)  # PKCS#12 and tokens need their secret
    try:
        return x509.load_der_x509_certificate(signer.signing_cert.dump())
    finally:
        close_signer(signer)


# --- seal images --------------------------------------------------------------------------


def store_seal_image(settings: Settings, code: str, png: bytes) -> str:
    """Check a supplied seal PNG and keep it, normalised, as <data>/seals/<code>.png.

    Returns the path relative to the data dir (what the registry stores).
    """
    try:
        clean = check_seal_png(png)
    except SealImageError as exc:
        raise InvalidInput(str(exc)) from exc
    settings.seals_dir.mkdir(parents=True, exist_ok=True)
    target = settings.seals_dir / f"{code}.png"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(clean)
    os.replace(tmp, target)
    return str(target.relative_to(settings.data_dir))


def seal_png(settings: Settings, org: Organisation) -> bytes:
    """The seal image of an organisation: its stored PNG, or one drawn from its name."""
    if org.seal_image_path:
        path = settings.data_dir / org.seal_image_path
        try:
            return check_seal_png(path.read_bytes())
        except (OSError, SealImageError) as exc:
            raise SealImageError(f"seal image {path} of organisation {org.code}: {exc}") from exc
    return render_round_seal(org.name, org.seal_bottom_text, default_seal_font())


def seal_image_label(org: Organisation) -> str:
    if org.seal_image_path:
        return f"file {org.seal_image_path}"
    bottom = f" +{org.seal_bottom_text}" if org.seal_bottom_text else ""
    return f"generated{bottom}"


def default_bottom_text(settings: Settings, role: str) -> str | None:
    """Committees' generated seals read 职称评审专用章 (the setting); issuers' none."""
    return settings.seal_bottom_text if role == "committee" else None


# --- the embedded default -----------------------------------------------------------------


def ensure_default_orgs(session: Session, settings: Settings, now: datetime) -> list[str]:
    """Add whichever of :data:`DEFAULT_ORGS` is missing, with development keys."""
    added = []
    for org in DEFAULT_ORGS:
        if get_org(session, org.code) is None:
            add_org(
                session,
                org.code,
                org.name,
                org.role,
                now,
                key_source=dict(DEV_KEY),
                seal_bottom_text=default_bottom_text(settings, org.role),
            )
            added.append(org.code)
    return added


def ensure_dev_keys(settings: Settings, sessions: sessionmaker[Session], now: datetime):
    """Create or complete the development PKI for every active organisation with a
    development key (idempotent; CRLs re-issued at ``now``). Returns the ``DevPKI``."""

    with _exclusive(settings.data_dir / ".dev-pki.lock"), transaction(sessions) as session:
        ensure_default_orgs(session, settings, now)
        wanted = [
            Org(o.code, o.name, o.role)
            for o in list_orgs(session, active_only=True)
            if (o.key_source or {}).get("kind") == "dev"
        ]
        warn_development(settings)
        return ensure_dev_pki(settings.keys_dir, wanted, now)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # Several processes may start at once (service workers, batch workers): without the
    # lock two of them could each generate a root CA and leave a mixed, unusable PKI.
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warn_development(settings: Settings) -> None:
    log.warning(
        "DEVELOPMENT PKI AND TIME-STAMPING AUTHORITY IN USE (keys in %s): seals made with them "
        "prove nothing and are NOT FOR PRODUCTION. Set ZC_DEV_PKI=false, give every organisation "
        "a real key (python -m service orgs add|update ...) and set ZC_TSA_URL.",
        settings.keys_dir.resolve(),
    )


# --- adding and changing organisations (the CLI and the admin API) -------------------------


@dataclass(frozen=True)
class OrgChange:
    """What to change of an organisation; ``None`` leaves a part as it is."""

    key_source: dict | None = None
    remove_key: bool = False
    seal_png: bytes | None = None
    seal_bottom_text: str | None = None
    generated_seal: bool = False  # draw the seal from the name again (drop a supplied PNG)
    active: bool | None = None


def add_organisation(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    code: str,
    name: str,
    role: str,
    key_source: dict | None,
    seal_png: bytes | None,
    seal_bottom_text: str | None,
    now: datetime,
) -> Organisation:
    """Add an organisation (its key checked first; its seal image kept under the data dir);
    a development key is created at once. Running services seal with it within seconds."""
    if key_source is not None and key_source.get("kind") != "dev":
        check_key_source(code, key_source)
    bottom = seal_bottom_text if seal_bottom_text is not None else default_bottom_text(settings, role)
    with transaction(sessions) as session:
        org = add_org(
            session, code, name, role, now, key_source=key_source, seal_bottom_text=None if seal_png else bottom or None
        )
        if seal_png is not None:
            org.seal_image_path = store_seal_image(settings, org.code, seal_png)  # the row rolls back if this fails
    if key_source == DEV_KEY:
        ensure_dev_keys(settings, sessions, now)
    publish_org_key(settings, sessions, org, now)
    return org


def update_organisation(
    settings: Settings, sessions: sessionmaker[Session], code: str, change: OrgChange, now: datetime
) -> Organisation:
    if change.key_source is not None and change.key_source.get("kind") != "dev":
        check_key_source(code, change.key_source)
    with transaction(sessions) as session:
        org = get_org(session, code)
        if org is None:
            raise NotFound(f"没有代码为 {code} 的机构")
        if change.key_source is not None or change.remove_key:
            update_key_source(session, org.code, change.key_source, now)
        if change.seal_png is not None:
            update_seal_image(
                session, org.code, now, path=store_seal_image(settings, org.code, change.seal_png), bottom_text=None
            )
        elif change.seal_bottom_text is not None or change.generated_seal:
            update_seal_image(session, org.code, now, path=None, bottom_text=change.seal_bottom_text or None)
        if change.active is not None:
            set_org_active(session, org.code, change.active, now)
    if (org.key_source or {}).get("kind") == "dev" and settings.dev_pki:
        ensure_dev_keys(settings, sessions, now)
    if change.key_source is not None:
        publish_org_key(settings, sessions, org, now)
    return org


def publish_org_key(settings: Settings, sessions: sessionmaker[Session], org: Organisation, now: datetime) -> None:
    """Publish the organisation's payload key (GET /.well-known/zc/keys) as soon as it has one:
    after a rotation the new key is listed before it signs its first certificate, and the
    old one stays listed for the certificates it signed. A key whose secret this process
    does not hold (a PKCS#12 password, a token PIN set only where the service runs) is
    published with its first use instead."""
    if not org.key_source:
        return
    try:
        cert = read_seal_certificate(org, settings.keys_dir)
    except KeySourceError as exc:
        log.info("organisation %s: key not published now (%s); it is with its first certificate", org.code, exc)
        return
    entry = key_entry_for(cert, code=org.code, name=org.name, role=org.role)
    if entry is not None:
        with transaction(sessions) as session:
            record_key(session, entry, now)
