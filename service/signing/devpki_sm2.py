"""The development PKI's SM2 side: an SM2 root CA, the seal maker (制章者, who signs the
GB/T 38540 印章数据) and one SM2 seal certificate per organisation, beside its ECDSA one.

Pure like :mod:`service.signing.devpki`, whose :class:`~service.signing.devpki.DevPKI`
holds an :class:`Sm2DevPKI`; every name carries the same development label.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from asn1crypto import x509 as asn1_x509

from .sm2 import (
    CertificateRequest,
    Sm2Signer,
    certificate_pem,
    generate_sm2_key,
    issue_sm2_certificate,
    load_sm2_private_key,
    private_key_pem,
    public_point_of,
    sm2_signer_from_pem,
)

DEV_LABEL = "开发测试 DEVELOPMENT ONLY"
_PKI_NAME = "职称电子证书开发PKI"


@dataclass(frozen=True)
class Sm2Pair:
    """An SM2 certificate with its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    def signer(self) -> Sm2Signer:
        return sm2_signer_from_pem(self.key_pem, self.cert_pem)


@dataclass(frozen=True)
class Sm2DevPKI:
    root: Sm2Pair
    maker: Sm2Pair  # the seal maker: signs every organisation's 印章数据
    seals: dict[str, Sm2Pair]  # by organisation code


def generate_sm2_pki(now: datetime) -> Sm2DevPKI:
    """A fresh SM2 root (20 years) and seal maker (10 years), no seals yet."""
    root_key = generate_sm2_key()
    root_subject = _subject(f"职称电子印章SM2根CA {DEV_LABEL}", _PKI_NAME)
    root_der = issue_sm2_certificate(
        CertificateRequest(root_subject, public_point_of(root_key), _serial(), now, _years(now, 20), ca=True),
        root_key,
    )
    root = Sm2Pair(certificate_pem(root_der), private_key_pem(root_key))
    maker = _issue_leaf(root, _subject(f"职称电子印章制章系统 {DEV_LABEL}", _PKI_NAME), now, _years(now, 10))
    return Sm2DevPKI(root=root, maker=maker, seals={})


def add_sm2_seal(
    pki: Sm2DevPKI, code: str, name: str, now: datetime, *, not_after: datetime | None = None
) -> Sm2DevPKI:
    """Issue organisation ``code``'s SM2 seal certificate (replacing any earlier one)."""
    subject = _subject(name.encode("utf-8")[:64].decode("utf-8", "ignore"), name[:64])
    subject["serial_number"] = code[:64]
    pair = _issue_leaf(pki.root, subject, now, not_after or _years(now, 5))
    return replace(pki, seals={**pki.seals, code: pair})


def _issue_leaf(issuer: Sm2Pair, subject: dict, start: datetime, end: datetime) -> Sm2Pair:
    key = generate_sm2_key()
    issuer_signer = issuer.signer()
    request = CertificateRequest(
        subject,
        public_point_of(key),
        _serial(),
        start,
        end,
        ca=False,
        issuer_name=asn1_x509.Certificate.load(issuer_signer.cert_der).subject,
    )
    der = issue_sm2_certificate(request, load_sm2_private_key(issuer.key_pem))
    return Sm2Pair(certificate_pem(der), private_key_pem(key))


def _subject(common_name: str, organisation: str) -> dict:
    return {
        "country_name": "CN",
        "organization_name": organisation,
        "organizational_unit_name": DEV_LABEL,
        "common_name": common_name,
    }


def _serial() -> int:
    return secrets.randbits(63) | 1 << 62


def _years(start: datetime, years: int) -> datetime:
    return start + timedelta(days=365 * years + years // 4)
