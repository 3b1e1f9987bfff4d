"""Checking a GB/T 38540 签章数据 (``SES_Signature``) against the bytes it seals, the way
GB/T 38540-2020 § 8 orders it: the signature over ``TBS_Sign`` by the signer's
certificate, the hash of the data, the seal (印章数据) by its maker, the signer named in
the seal, both certificates issued by a trusted SM2 root, the time inside every validity.

Pure: DER in, a :class:`SesVerdict` out; nothing raises for a hostile input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509

from .ses import SesSeal, SesSignature, seal_to_sign
from .ses_timestamp import check_token
from .sm2 import SM2_WITH_SM3_OID, public_point, sm3, verify_certificate_signature, verify_sm2
from .trust import TrustConfig


@dataclass(frozen=True)
class SesVerdict:
    """``problems`` empty: genuine. Each problem is one of ``unreadable``, ``altered`` (the
    data or the signed fields changed), ``bad_seal`` (the maker's signature fails),
    ``untrusted`` (a certificate not from a trusted root), ``not_in_seal`` (the signer is
    not among the seal's certificates), ``out_of_validity``."""

    problems: tuple[str, ...]
    seal_name: str = ""
    es_id: str = ""
    signer_subject: str = ""
    signed_at: datetime | None = None
    picture_png: bytes = b""
    timestamped_at: datetime | None = None  # the TSA's time, where the signature carries a token

    @property
    def genuine(self) -> bool:
        return not self.problems


def check_ses_signature(
    signature_der: bytes, data: bytes, roots: tuple[bytes, ...], timestamps: TrustConfig | None = None
) -> SesVerdict:
    """Check ``signature_der`` (a ``SES_Signature``) over ``data``, trusting ``roots`` (DER)
    for the seal and ``timestamps`` for the TSA of its timestamp (None: the token's own
    signature and imprint are checked, not where its certificate comes from)."""
    try:
        signature = SesSignature.load(signature_der, strict=True)
        signature.native  # noqa: B018 - parses every field now, so a malformed one is 'unreadable'
        tbs = signature["toSign"]
        seal = tbs["eseal"]
        signer_der = bytes(signature["cert"])
        maker_der = bytes(seal["cert"])
        signer_cert = asn1_x509.Certificate.load(signer_der)
        maker_cert = asn1_x509.Certificate.load(maker_der)
        signer_point = public_point(signer_der)
        maker_point = public_point(maker_der)
        signed_at = tbs["timeInfo"].native
    except (ValueError, TypeError, KeyError):
        return SesVerdict(("unreadable",))
    problems: list[str] = []
    if (
        signature["signatureAlgID"].dotted != SM2_WITH_SM3_OID
        or not verify_sm2(signer_point, tbs.dump(), bytes(signature["signature"]))
        or bytes(tbs["dataHash"]) != sm3(data)
    ):
        problems.append("altered")
    if seal["signAlgID"].dotted != SM2_WITH_SM3_OID or not verify_sm2(
        maker_point, seal_to_sign(seal), bytes(seal["signedValue"])
    ):
        problems.append("bad_seal")
    if not all(_issued_by_a_root(der, roots) for der in (signer_der, maker_der)):
        problems.append("untrusted")
    prop = seal["esealInfo"]["property"]
    if signer_der not in [bytes(c) for c in prop["certList"]]:
        problems.append("not_in_seal")
    if not _within(signed_at, prop["validStart"].native, prop["validEnd"].native) or not all(
        _within(signed_at, c["tbs_certificate"]["validity"]["not_before"].native, c.not_valid_after)
        for c in (signer_cert, maker_cert)
    ):
        problems.append("out_of_validity")
    timestamped_at = None
    if signature["timeStamp"].native is not None:
        stamp = check_token(bytes(signature["timeStamp"]), bytes(signature["signature"]), timestamps)
        timestamped_at = stamp.at
        if not stamp.intact or (timestamps is not None and not stamp.trusted):
            problems.append("bad_timestamp")
    info = seal["esealInfo"]
    return SesVerdict(
        problems=tuple(problems),
        seal_name=prop["name"].native,
        es_id=info["esID"].native,
        signer_subject=signer_cert.subject.human_friendly,
        signed_at=signed_at,
        picture_png=bytes(info["picture"]["data"]),
        timestamped_at=timestamped_at,
    )


def read_seal(seal_der: bytes) -> SesSeal:
    """A ``SES_Seal`` parsed whole (ValueError if it is not one)."""
    seal = SesSeal.load(seal_der, strict=True)
    seal.native  # noqa: B018 - parses every field now
    return seal


def _issued_by_a_root(cert_der: bytes, roots: tuple[bytes, ...]) -> bool:
    try:
        return any(verify_certificate_signature(cert_der, root) for root in roots)
    except ValueError:
        return False


def _within(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment <= end
