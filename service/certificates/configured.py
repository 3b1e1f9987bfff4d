"""The certificate as this deployment configures it (title, unsealed notice, number
pattern, identifier type), laid out once at start-up with the longest values they can give: a layout that
cannot fit fails the start, not every issuance after a number has been spent."""

from __future__ import annotations

import json

from service.certificates.identifiers import longest_number, make_identifier
from service.config import Settings
from service.contract.certificate import MAX_CHARS, CertificateRequest
from service.forms.certificate import SLOTS, LayoutError, field_values, place
from service.sealing.startup import StartupError


def check_configured_certificate(settings: Settings) -> None:
    sample = settings.templates_dir / "certificates" / "default" / "sample.json"
    request = CertificateRequest.model_validate(
        json.loads(sample.read_text("utf-8")), context={"limits": settings.limits}
    )
    number = longest_number(settings.number_pattern, MAX_CHARS["committee_code"])
    identifier = make_identifier(
        type_code=settings.identifier_type_code, issuer_uscc="W" * 18, serial=number, version=999
    )
    values = field_values(
        request, number=number, identifier=identifier, title=settings.certificate_title, notice=settings.unsealed_notice
    )
    try:
        for slot in SLOTS:
            place(slot, values[slot.key], settings.fonts_dir)
    except LayoutError as exc:
        raise StartupError(
            f"the certificate cannot be laid out with this configuration ({exc}): shorten ZC_CERTIFICATE_TITLE "
            f"({settings.certificate_title!r}), ZC_UNSEALED_NOTICE or ZC_NUMBER_PATTERN ({settings.number_pattern!r}); "
            f"its longest number is {number}"
        ) from None
