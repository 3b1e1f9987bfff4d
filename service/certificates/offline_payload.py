"""A version's offline payload (service.offline.payload) at issuance: its facts from the
request, signed with the issuer's seal key, sized for the certificate's QR box."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.contract.certificate import CertificateRequest
from service.documents.certificate_layout import QR_BOX
from service.documents.qr import fits
from service.offline.lists import KeyEntry
from service.offline.payload import OfflineFacts, encode_payload, id_hash, qr_text
from service.sealing.payload_signing import key_entry_of, payload_signer_of

if TYPE_CHECKING:
    from service.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfflinePayload:
    text: str  # ZC1:…
    key: KeyEntry  # the key that signed it, to be published


def facts_of(request: CertificateRequest, *, number: str, version: int, salt: bytes) -> OfflineFacts:
    q = request.qualification
    return OfflineFacts(
        number=number,
        version=version,
        name=request.holder.name,
        series=q.series,
        specialty=q.specialty,
        title=q.title,
        level=q.level,
        committee=request.committee.code,
        issuer=request.issuer.code,
        acquired_on=q.acquired_on,
        issue_date=request.issue_date,
        salt=salt,
        id_hash=id_hash(salt, request.holder.id_number),
    )


def make_offline_payload(
    services: Services, request: CertificateRequest, *, number: str, version: int, salt: bytes, verify_url: str
) -> OfflinePayload | None:
    """The signed payload, or None: the issuer's key signs no payload (not P-256), or the
    code would be too dense for the QR box (names at the contract's longest): such a
    version's code holds the URL alone and it is checked online."""
    sealer = services.sealers.current().sealer(request.issuer.code)
    signer, key = payload_signer_of(sealer), key_entry_of(sealer)
    if signer is None or key is None:
        log.info("issuer %s's seal key is not ECDSA P-256: certificate %s has no offline payload", sealer.code, number)
        return None
    text = encode_payload(facts_of(request, number=number, version=version, salt=salt), signer)
    if not fits(qr_text(verify_url, text), QR_BOX.w):
        log.warning("certificate %s: the offline payload would make the QR code too dense; URL only", number)
        return None
    return OfflinePayload(text, key)
