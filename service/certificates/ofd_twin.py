"""A version's OFD twin: the page the PDF prints (same ``build_context``: lines, word
breaks, QR text with the signed payload), sealed by the committee's and the issuer's
GB/T 38540 seals, when the province's profile issues OFD.

Made beside the PDF wherever the PDF is sealed: at issuance, at reissue, and by the batch
that seals a ``pending_seal`` version (the same number, identifier and QR code).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from service.contract.certificate import CertificateRequest
from service.forms.certificate import DEFAULT_TITLE, wording_of
from service.ofd.certificate import certificate_page, make_ofd
from service.signing.errors import KeySourceError
from service.signing.ses_timestamp import request_token

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services

log = logging.getLogger(__name__)


def make_ofd_twin(
    services: Services,
    request: CertificateRequest,
    *,
    number: str,
    identifier: str,
    verify_url: str,
    offline_payload: str | None,
) -> bytes | None:
    """The sealed OFD package, or None: the profile issues PDF only, or an organisation
    has no SM2 seal yet (said in the log; the PDF is issued all the same)."""
    if not services.profile.certificate.issues_ofd:
        return None
    try:
        seals = (
            services.sm2_seals.org_seal(request.committee.code),
            services.sm2_seals.org_seal(request.issuer.code),
        )
    except KeySourceError as exc:
        log.warning("certificate %s: no OFD twin, %s", number, exc)
        return None
    page = certificate_page(
        request,
        number=number,
        identifier=identifier,
        verify_url=verify_url,
        fonts_dir=services.renderer.fonts_dir,
        title=services.settings.certificate_title or DEFAULT_TITLE,
        wording=wording_of(services.profile.certificate, services.profile.terms()),
        offline_payload=offline_payload,
    )
    return make_ofd(page, services.renderer.fonts_dir, seals, services.clock(), _timestamp_of(services, number))


def _timestamp_of(services: Services, number: str) -> Callable[[bytes], bytes | None] | None:
    """The seals' timestamps, from the TSA the PDF's seals use; a TSA that does not answer
    leaves the OFD seal without one (said in the log), as GB/T 38540 allows, rather than
    the certificate without its twin."""
    timestamper = services.sealers.current().timestamper
    if timestamper is None:
        return None

    def timestamp(signature_value: bytes) -> bytes | None:
        try:
            return request_token(timestamper, signature_value)
        except (OSError, ValueError) as exc:
            log.warning("certificate %s: OFD seal without a timestamp, the TSA did not answer: %s", number, exc)
            return None

    return timestamp
