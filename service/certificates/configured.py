"""The certificate as this deployment configures it (title, unsealed notice, number
pattern, identifier type), laid out once at start-up with the longest values they can give: a layout that
cannot fit fails the start, not every issuance after a number has been spent."""

from __future__ import annotations

import json

from service.certificates.identifiers import longest_number, make_identifier
from service.config import Settings
from service.contract.certificate import MAX_CHARS, CertificateRequest
from service.forms.certificate import LayoutError, field_values, place, wording_of
from service.profiles.schema import Profile
from service.sealing.startup import StartupError


def check_configured_certificate(settings: Settings, profile: Profile) -> None:
    sample = settings.templates_dir / "certificates" / "default" / "sample.json"
    # The longest footer too: a reissue's mark and an original number as long as the contract allows.
    data = json.loads(sample.read_text("utf-8"))
    data["replaces"] = {"kind": "换发", "original_number": "W" * MAX_CHARS["approval_doc_no"]}
    request = CertificateRequest.model_validate(data, context={"limits": settings.limits})
    number = longest_number(settings.number_pattern, MAX_CHARS["committee_code"])
    identifier = make_identifier(
        type_code=settings.identifier_type_code, issuer_uscc="W" * 18, serial=number, version=999
    )
    wording = wording_of(profile.certificate, profile.terms())
    values = field_values(
        request,
        number=number,
        identifier=identifier,
        title=settings.certificate_title,
        notice=settings.unsealed_notice,
        wording=wording,
    )
    try:
        for slot in wording.slots:
            place(slot, values[slot.key], settings.fonts_dir)
    except LayoutError as exc:
        raise StartupError(
            f"the certificate cannot be laid out with this configuration ({exc}): shorten the profile's labels "
            f"({profile.name}.toml), ZC_CERTIFICATE_TITLE "
            f"({settings.certificate_title!r}), ZC_UNSEALED_NOTICE or ZC_NUMBER_PATTERN ({settings.number_pattern!r}); "
            f"its longest number is {number}"
        ) from None
