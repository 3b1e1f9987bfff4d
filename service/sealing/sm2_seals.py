"""The organisations' GB/T 38540 seals at the edge: each one's 印章数据 (``SES_Seal``) and
its SM2 signer, read from the key source on first use and kept for the process.

Key source JSON (``organisations.key_source``), beside the PAdES key::

    {"kind": "dev", ...}                        <data>/keys/sm2/seals/<code>.*, the seal
                                                made here by the development seal maker
    {..., "sm2": {"key_path", "cert_path", "seal_path", ["secret_env"]}}
    {..., "sm2": {"pkcs12_path", "seal_path", ["secret_env"]}}
                                                a production seal: its SES_Seal (from the
                                                seal maker's system) and its SM2 key, as
                                                PEM files or as the CA's PKCS#12 (.pfx)

No PKCS#11 path for SM2: python-pkcs11 has no SM2 mechanism, and the token the tests can
run (SoftHSM2) has none either; a GM/T 0016 (SKF) or vendor PKCS#11 token would be
reached by a signer with the same ``sign(data) -> DER`` as :class:`Sm2Signer`.

Trust: the development SM2 root (with ``ZC_DEV_PKI``) and ``ZC_SM2_TRUST_ROOTS``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.ofd.certificate import OrgSeal
from service.registry.orgs import get_org
from service.sealing.devpki_store import sm2_seal_paths
from service.sealing.orgs import seal_png
from service.signing.errors import KeySourceError
from service.signing.ses import SealData, make_seal
from service.signing.sm2 import certificate_der, sm2_signer_from_pem, sm2_signer_from_pkcs12

SEAL_MM = 40  # as the PDF's stamp


class Sm2Seals:
    """``has_seal(code)``, ``org_seal(code)``, ``roots()``: nothing read before it is asked."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]):
        self._settings, self._sessions = settings, sessions
        self._seals: dict[str, OrgSeal] = {}
        self._roots: tuple[bytes, ...] | None = None
        self._lock = threading.Lock()

    def has_seal(self, code: str) -> bool:
        try:
            self.org_seal(code)
        except KeySourceError:
            return False
        return True

    def org_seal(self, code: str) -> OrgSeal:
        """The organisation's seal, or ``KeySourceError`` saying what is missing."""
        with self._lock:
            if code not in self._seals:
                self._seals[code] = self._load(code)
            return self._seals[code]

    def roots(self) -> tuple[bytes, ...]:
        """The SM2 root certificates (DER) a seal's certificate must chain to."""
        if self._roots is None:
            paths = list(self._settings.sm2_trust_roots)
            if self._settings.dev_pki:
                paths.append(self._settings.keys_dir / "sm2" / "root.cert.pem")
            self._roots = tuple(certificate_der(p.read_bytes()) for p in paths if p.exists())
        return self._roots

    def _load(self, code: str) -> OrgSeal:
        with self._sessions() as session:
            org = get_org(session, code)
            if org is None or not org.active:
                raise KeySourceError(f"organisation {code} is not registered or not active")
            source = dict(org.key_source or {})
            picture = seal_png(self._settings, org)
            name = org.name
        if "sm2" in source:
            return _production_seal(code, source["sm2"])
        if source.get("kind") != "dev" or not self._settings.dev_pki:
            raise KeySourceError(f"organisation {code} has no SM2 seal (key_source.sm2)")
        return self._dev_seal(code, name, picture)

    def _dev_seal(self, code: str, name: str, picture: bytes) -> OrgSeal:
        key_path, cert_path = sm2_seal_paths(self._settings.keys_dir, code)
        maker_dir = self._settings.keys_dir / "sm2"
        try:
            cert_pem = cert_path.read_bytes()
            signer = sm2_signer_from_pem(key_path.read_bytes(), cert_pem)
            maker = sm2_signer_from_pem(
                (maker_dir / "maker.key.pem").read_bytes(), (maker_dir / "maker.cert.pem").read_bytes()
            )
        except (OSError, ValueError) as exc:
            raise KeySourceError(f"development SM2 seal of {code}: {exc}") from exc
        cert = certificate_der(cert_pem)
        validity = asn1_x509.Certificate.load(cert)["tbs_certificate"]["validity"]
        start, end = validity["not_before"].native, validity["not_after"].native
        data = SealData(code, name, (cert,), picture, SEAL_MM, SEAL_MM, start, start, end)
        return OrgSeal(make_seal(data, maker), signer)


def _production_seal(code: str, source: dict) -> OrgSeal:
    secret_env = source.get("secret_env")
    secret = os.environ.get(secret_env, "").encode() if secret_env else None
    try:
        seal_der = Path(source["seal_path"]).read_bytes()
        if "pkcs12_path" in source:
            signer = sm2_signer_from_pkcs12(Path(source["pkcs12_path"]).read_bytes(), secret or None)
        else:
            signer = sm2_signer_from_pem(
                Path(source["key_path"]).read_bytes(), Path(source["cert_path"]).read_bytes(), secret or None
            )
    except (KeyError, OSError, ValueError) as exc:
        raise KeySourceError(f"SM2 seal of {code}: {exc}") from exc
    return OrgSeal(seal_der, signer)
