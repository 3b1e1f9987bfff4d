"""The edge of offline verification: the list-signing key on disk, the key list and the
status list read from the registry and signed.

Both lists are made on request from the registry as it is, so a revocation or a reissue
is in the next list fetched; ``iat`` is the request's minute, so lists asked for within a
minute are the same bytes (the signature is deterministic), which lets HTTP caches and
ETags work.
"""

from __future__ import annotations

import fcntl
import logging
import os
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.offline.cose import Es256Signer, jwk_of
from service.offline.lists import KEYS_TYPE, STATUS_TYPE, key_list, sign_list, status_entry, status_list
from service.registry.published_keys import ended_versions, entry_of, list_keys

log = logging.getLogger(__name__)


def list_key_path(settings: Settings):
    return settings.list_key_path or settings.keys_dir / "lists.key.pem"


def load_list_signer(settings: Settings) -> Es256Signer:
    """The list-signing key; made (once, under a lock) when the default path has none."""
    path = list_key_path(settings)
    if not path.exists() and settings.list_key_path is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(".lists-key.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                _write_new_key(path)
                log.warning("made a new key for the published key and status lists: %s", path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)):
        raise ValueError(f"{path}: the list-signing key must be an EC P-256 key")
    return Es256Signer(key)


def _write_new_key(path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path.with_name(path.name + ".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.replace(path.with_name(path.name + ".tmp"), path)


def list_signer_jwk(signer: Es256Signer) -> dict:
    return jwk_of(signer.private_key.public_key())


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def signed_key_list(settings: Settings, sessions: sessionmaker[Session], signer: Es256Signer, now: datetime) -> dict:
    with sessions() as session:
        entries = [entry_of(row) for row in list_keys(session)]
    payload = key_list(settings.public_base_url, _minute(now), entries)
    return sign_list(payload, signer, KEYS_TYPE, list_signer_jwk(signer))


def signed_status_list(settings: Settings, sessions: sessionmaker[Session], signer: Es256Signer, now: datetime) -> dict:
    with sessions() as session:
        ended = ended_versions(session)
    issued = _minute(now)
    payload = status_list(
        settings.public_base_url,
        issued,
        issued + timedelta(seconds=settings.status_list_seconds),
        revoked=[status_entry(n, v) for n, v, status in ended if status == "revoked"],
        superseded=[status_entry(n, v) for n, v, status in ended if status == "superseded"],
    )
    return sign_list(payload, signer, STATUS_TYPE, list_signer_jwk(signer))
