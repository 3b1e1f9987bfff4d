"""Trust configuration: roots, intermediates and revocation data given directly.

Nothing is fetched from the network by default: the development PKI's CRL URLs point at
``dev-pki.invalid`` and production CRLs are meant to be provided (and refreshed) by the
operator.  ``allow_fetching`` exists for a production deployment that wants it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko_certvalidator import ValidationContext

from .devpki import DevPKI


@dataclass(frozen=True)
class TrustConfig:
    """DER or PEM certificates; DER CRLs."""

    roots: tuple[bytes, ...]
    intermediates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    allow_fetching: bool = False

    def root_certs(self) -> list[asn1_x509.Certificate]:
        return _certs(self.roots)

    def intermediate_certs(self) -> list[asn1_x509.Certificate]:
        return _certs(self.intermediates)

    def crl_objects(self) -> list[asn1_crl.CertificateList]:
        return [asn1_crl.CertificateList.load(c) for c in self.crls]


def trust_from_dev_pki(pki: DevPKI) -> TrustConfig:
    """Trust exactly the development root, with the dev CRLs at hand."""
    return TrustConfig(
        roots=(pki.root.cert_pem,),
        intermediates=(pki.seal_ca.cert_pem,),
        crls=pki.crls_der,
    )


def build_validation_context(
    trust: TrustConfig,
    *,
    moment: datetime | None = None,
    revocation_mode: str = "soft-fail",
    extra_crls: Iterable[asn1_crl.CertificateList] = (),
    extra_ocsps: Iterable = (),
    extra_certs: Iterable[asn1_x509.Certificate] = (),
    retroactive_revinfo: bool = False,
) -> ValidationContext:
    """A fresh pyHanko validation context (they cache state: one per document)."""
    crls = trust.crl_objects() + list(extra_crls)
    return ValidationContext(
        trust_roots=trust.root_certs(),
        other_certs=trust.intermediate_certs() + list(extra_certs),
        crls=crls,
        ocsps=list(extra_ocsps),
        moment=moment,
        allow_fetching=trust.allow_fetching and moment is None,
        revocation_mode=revocation_mode,
        retroactive_revinfo=retroactive_revinfo,
    )


def _certs(items: Iterable[bytes]) -> list[asn1_x509.Certificate]:
    certs: list[asn1_x509.Certificate] = []
    for item in items:
        if item.lstrip().startswith(b"-----"):
            certs.extend(load_certs_from_pemder_data(item))
        else:
            certs.append(asn1_x509.Certificate.load(item))
    return certs
