"""One version's file: render the certificate, seal it when both organisations have keys.

Runs wherever the CPU work goes (a worker process for the API, the batch worker itself);
takes the services and plain data, returns bytes and the seal level.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from service.certificates.ofd_twin import make_ofd_twin
from service.certificates.offline_payload import OfflinePayload, make_offline_payload
from service.config import Settings
from service.contract.certificate import CertificateRequest
from service.contract.common import Photo
from service.forms.certificate import SEAL_AREAS, render_certificate, wording_of
from service.registry.models import Certificate
from service.workers.tasks import worker_task

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services


@dataclass(frozen=True)
class MadeDocument:
    pdf: bytes
    seal_level: str | None  # None: not sealed (an organisation has no key yet): pending_seal
    # Unsealed: the same page without the unsealed notice, for a batch job to seal as it is.
    sealable_pdf: bytes | None = None
    archive_until: datetime | None = None  # B-LTA: when the timestamp's TSA certificate expires
    # The QR code's signed payload (sealed versions whose issuer key is P-256) and its key.
    offline: OfflinePayload | None = None
    # The OFD twin with its GB/T 38540 seals (sealed versions, profiles that issue OFD).
    ofd: bytes | None = None


@worker_task("certificate")
def make_document(
    services: Services,
    request: CertificateRequest,
    *,
    number: str,
    version: int,
    token: str,
    identifier: str,
    salt: bytes | None = None,
) -> MadeDocument:
    """``salt``: the version's ID-hash salt (random, chosen by the caller like the token, so
    that the same arguments make the same bytes); None: no offline payload."""
    sealers = services.sealers  # asks the registry for a key it has not loaded: one given a moment ago
    sealable = sealers.has_key(request.committee.code) and sealers.has_key(request.issuer.code)
    url = verification_url(services.settings, token)
    # The issuer's key signs the payload when it has one, sealed now or not: a version
    # sealed later by a batch (batches.seal_kind) is sealed as laid out here, its code
    # with the payload; the copy printed unsealed (with its notice) holds the URL alone.
    offline = (
        make_offline_payload(services, request, number=number, version=version, salt=salt, verify_url=url)
        if salt is not None and sealers.has_key(request.issuer.code)
        else None
    )
    payload = offline.text if offline else None
    # Unsealed, the certificate says so (and stays clean for a physical stamp).
    pdf = render_certificate(
        services.renderer,
        request,
        number=number,
        identifier=identifier,
        verify_url=url,
        province_title=services.settings.certificate_title,
        unsealed_notice=None if sealable else services.settings.unsealed_notice,
        wording=wording_of(services.profile.certificate, services.profile.terms()),
        offline_payload=payload if sealable else None,
    )
    if not sealable:
        sealable_pdf = render_sealable(
            services, request, number=number, token=token, identifier=identifier, offline_payload=payload
        )
        return MadeDocument(pdf, None, sealable_pdf=sealable_pdf, offline=offline)
    sealed = services.sealers.seal(pdf, request.committee.code, request.issuer.code, SEAL_AREAS)
    ofd = make_ofd_twin(
        services,
        request,
        number=number,
        identifier=identifier,
        verify_url=url,
        offline_payload=offline.text if offline else None,
    )
    return MadeDocument(sealed.pdf, sealed.level, archive_until=sealed.archive_until, offline=offline, ofd=ofd)


def render_sealable(
    services: Services,
    request: CertificateRequest,
    *,
    number: str,
    token: str,
    identifier: str,
    offline_payload: str | None = None,
) -> bytes:
    """The certificate as it is sealed: no unsealed notice; same number and data, and the
    QR code's URL (with ``offline_payload`` after it when the sealing batch signed one)."""
    return render_certificate(
        services.renderer,
        request,
        number=number,
        identifier=identifier,
        verify_url=verification_url(services.settings, token),
        province_title=services.settings.certificate_title,
        wording=wording_of(services.profile.certificate, services.profile.terms()),
        offline_payload=offline_payload,
    )


def verification_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v/{token}"


def request_without_photo(request: CertificateRequest) -> dict:
    """The request as the registry keeps it: the photo's bytes live in the file store."""
    data = request.model_dump(mode="json")
    if data["holder"].get("photo"):
        data["holder"]["photo"] = {"media_type": data["holder"]["photo"]["media_type"], "data_base64": None}
    return data


def stored_request(services: Services, cert: Certificate) -> dict:
    """The request a version was issued from, its photo back from the file store (checked,
    not re-encoded): the base of a reissue, the data of a public copy."""
    data = copy.deepcopy(cert.request)
    photo = data["holder"].get("photo")
    if photo is not None and cert.photo_sha256:
        data["holder"]["photo"] = Photo.from_file(
            services.files.get(cert.photo_sha256), photo["media_type"], services.settings.limits
        )
    return data
