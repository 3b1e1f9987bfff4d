"""Building the :class:`~service.sealing.SealerPool` at start-up from the settings and
the registry: development PKI or production trust, the TSA, the PAdES level, each
active organisation's key and seal image.

Everything that can be wrong with the configuration is found here, at start-up, and
reported as one :class:`StartupError` naming what to fix: a seal that fails in the
middle of a batch helps nobody.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.documents.seal_image import SealImageError
from service.registry.orgs import list_orgs
from service.sealing.orgs import ensure_dev_keys, open_signer, seal_png
from service.sealing.pool import OrgSealer, SealerPool, close_signers
from service.sealing.timestamping import build_http_timestamper
from service.signing.errors import KeySourceError
from service.signing.levels import best_level, seal_level
from service.signing.seal import estimate_reserved
from service.signing.trust import TrustConfig, trust_from_dev_pki
from service.signing.tsa import build_dev_timestamper

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The service cannot start with this configuration; the message says why."""


def build_sealer_pool(
    settings: Settings,
    sessions: sessionmaker[Session],
    now: datetime,
    *,
    environ: Mapping[str, str] | None = None,
    fixed_time: datetime | None = None,
) -> SealerPool:
    """Load everything sealing needs, once. ``fixed_time`` freezes the development TSA
    and the validation clock (tests); ``environ`` holds the key secrets (default: os.environ)."""

    environ = os.environ if environ is None else environ
    dev_pki = ensure_dev_keys(settings, sessions, now) if settings.dev_pki else None
    with sessions() as session:
        orgs = list_orgs(session, active_only=True)
    signers, pngs, problems = {}, {}, []
    for org in orgs:
        if org.key_source is None:
            log.info("organisation %s (%s) has no seal key: its certificates wait in pending_seal", org.code, org.name)
            continue
        try:
            signers[org.code] = _open(org, dev_pki, environ)
            pngs[org.code] = seal_png(settings, org)
        except (StartupError, SealImageError) as exc:
            problems.append(f"organisation {org.code} ({org.name}): {exc}")
    try:
        if problems:
            raise StartupError("cannot load the seals; fix or deactivate: " + "; ".join(problems))
        timestamper = _build_timestamper(settings, dev_pki, fixed_time, needed=bool(signers))
        trust = build_trust(settings, dev_pki)
        level = choose_level(settings.seal_level, bool(trust.crls) or trust.allow_fetching, timestamper is not None)
    except BaseException:
        close_signers(signers)  # a token session must not outlive a failed start
        raise
    sealers = {
        org.code: OrgSealer(
            org.code,
            org.name,
            org.role,
            signers[org.code],
            pngs[org.code],
            estimate_reserved(signers[org.code], timestamper),
        )
        for org in orgs
        if org.code in signers
    }
    log.info(
        "sealing at %s with %s; organisations with keys: %s",
        level,
        settings.tsa_url or "the development TSA",
        ", ".join(sorted(sealers)) or "none",
    )
    return SealerPool(sealers, timestamper, trust, level, fixed_time=fixed_time)


def choose_level(setting: str, has_revocation: bool, has_tsa: bool) -> str:
    """``auto``: the highest level the means at hand can make (B-LTA with revocation data
    and a TSA, else B-T); a level named: that one, if its needs are met."""
    if setting == "auto":
        return best_level(has_revocation, has_tsa).name
    level = seal_level(setting)
    if level.needs_revocation_data and not has_revocation:
        raise StartupError(
            f"ZC_SEAL_LEVEL={level.name} needs revocation data: set ZC_CRL_FILES (or ZC_REVOCATION_FETCHING=true), "
            "or use ZC_SEAL_LEVEL=auto"
        )
    return level.name


def build_trust(settings: Settings, dev_pki=None):
    """The development root and CRLs (when on) plus the configured production files."""

    base = trust_from_dev_pki(dev_pki) if dev_pki is not None else TrustConfig(roots=())
    roots = base.roots + tuple(_read("ZC_TRUST_ROOTS", p) for p in settings.trust_roots)
    inter = base.intermediates + tuple(_read("ZC_TRUST_INTERMEDIATES", p) for p in settings.trust_intermediates)
    crls = base.crls + tuple(_crl_der(p) for p in settings.crl_files)
    if not roots:
        log.warning("no trust roots (ZC_TRUST_ROOTS): every seal will be reported untrusted")
    trust = TrustConfig(roots=roots, intermediates=inter, crls=crls, allow_fetching=settings.revocation_fetching)
    try:  # parse now: a bad file is a start-up error, not a failure at the first validation
        trust.root_certs(), trust.intermediate_certs()
    except (ValueError, TypeError) as exc:
        raise StartupError(f"ZC_TRUST_ROOTS / ZC_TRUST_INTERMEDIATES: a file is not a certificate: {exc}") from exc
    return trust


def _open(org, dev_pki, environ):

    kind = org.key_source.get("kind")
    if kind == "dev" and dev_pki is None:
        raise StartupError(
            "it uses a development key but ZC_DEV_PKI=false; give it a real key "
            f"(python -m service orgs update --code {org.code} --key-pem ... ) or deactivate it"
        )
    try:
        return open_signer(org.code, org.key_source, dev_pki, environ)
    except KeySourceError as exc:
        raise StartupError(f"cannot load its {kind} seal key: {exc}") from exc


def _build_timestamper(settings: Settings, dev_pki, fixed_time: datetime | None, needed: bool):

    if settings.tsa_url:
        return build_http_timestamper(settings.tsa_url, timeout=settings.tsa_timeout)
    if dev_pki is not None:
        return build_dev_timestamper(dev_pki.tsa.cert_pem, dev_pki.tsa.key_pem, fixed_time=fixed_time)
    if needed:
        raise StartupError("ZC_TSA_URL is required when ZC_DEV_PKI=false (every seal carries an RFC 3161 timestamp)")
    return None


def _read(setting: str, path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise StartupError(f"{setting}: cannot read {path}: {exc.strerror}") from exc


def _crl_der(path: Path) -> bytes:

    data = _read("ZC_CRL_FILES", path)
    try:
        crl = x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----") else x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise StartupError(f"ZC_CRL_FILES: {path} is not a CRL: {exc}") from exc
    return crl.public_bytes(Encoding.DER)
