"""Reading what validation needs out of a signed PDF: signature objects, the DSS,
certificate facts.  Pure helpers for :mod:`service.signing.validate`."""

from __future__ import annotations

import hashlib
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Literal

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from .errors import EncryptedPdfError, InvalidPdfError
from .report import CertificateInfo

log = logging.getLogger(__name__)


def read_signatures(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], list[str]]:
    """Filled signature fields in revision order, and the names of those whose CMS blob
    cannot even be parsed (a damaged seal is reported, not turned into an exception)."""
    found, unreadable = [], []
    try:
        for name, _value, field_ref in enumerate_sig_fields(reader, filled_status=True):
            try:
                found.append(EmbeddedPdfSignature(reader, field_ref, name))
            except (PdfError, ValueError, KeyError, TypeError) as exc:
                log.warning("seal %s is unreadable: %s", name, exc)
                unreadable.append(name)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise InvalidPdfError(f"the form fields of this PDF cannot be read: {exc}") from exc
    return sorted(found, key=lambda e: e.signed_revision), unreadable


@dataclass(frozen=True)
class DssMaterial:
    present: bool
    crls: list
    ocsps: list
    certs: list


def read_dss(reader: PdfFileReader) -> DssMaterial:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return DssMaterial(False, [], [], [])
    vc = dss.as_validation_context({"trust_roots": []})  # parses the streams for us
    return DssMaterial(True, list(vc.crls), list(vc.ocsps), list(dss.load_certs()))


def claimed_tst_time(emb: EmbeddedPdfSignature) -> datetime | None:
    """genTime of the signature timestamp token, read before it is validated."""
    attrs = emb.signer_info["unsigned_attrs"]
    if attrs.native is None:
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            token = attr["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            return tst_info["gen_time"].native
    return None


def signature_kind(emb: EmbeddedPdfSignature) -> Literal["certify", "approve"]:
    """A certification signature carries a DocMDP transform in its /Reference array."""
    for ref in emb.sig_object.get("/Reference", ()):
        if ref.get_object().get("/TransformMethod") == "/DocMDP":
            return "certify"
    return "approve"


def name_part(cert: asn1_x509.Certificate, key: str) -> str | None:
    value = cert.subject.native.get(key)
    if isinstance(value, list):
        value = value[0]
    return value


def cert_info(cert: asn1_x509.Certificate) -> CertificateInfo:
    validity = cert["tbs_certificate"]["validity"]
    return CertificateInfo(
        subject=cert.subject.human_friendly,
        common_name=name_part(cert, "common_name"),
        organisation=name_part(cert, "organization_name"),
        serial_hex=format(cert.serial_number, "x"),
        issuer=cert.issuer.human_friendly,
        sha256=hashlib.sha256(cert.dump()).hexdigest(),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
    )


# What reading a damaged or hostile PDF can raise, in pyHanko's parser or below it:
# zlib.error for a damaged compressed stream, RecursionError for objects that refer to
# themselves, AssertionError where pyHanko asserts a shape (a signature field whose /V is
# a number), the rest for structures of the wrong type or shape.
READ_ERRORS = (
    PdfError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    AssertionError,
    zlib.error,
    EOFError,
    RecursionError,
)


def open_pdf(pdf_bytes: bytes) -> PdfFileReader:
    if not pdf_bytes[:1024].lstrip().startswith(b"%PDF-"):
        raise InvalidPdfError("not a PDF (no %PDF- header)")
    try:
        reader = PdfFileReader(BytesIO(pdf_bytes))
        encrypted = reader.encrypted
        if not encrypted:
            reader.root  # noqa: B018 - force the trailer and catalog to parse now
    except READ_ERRORS as exc:
        raise InvalidPdfError(f"not a readable PDF: {exc}") from exc
    if encrypted:
        # Issued certificates are never encrypted: say so rather than "unreadable".
        raise EncryptedPdfError("an encrypted PDF")
    return reader


def archive_valid_until(pdf_bytes: bytes) -> datetime | None:
    """When the newest document timestamp's TSA certificate expires: a B-LTA document
    needs a fresh archive timestamp before then. None without a document timestamp."""
    embedded, _ = read_signatures(open_pdf(pdf_bytes))
    stamps = [e for e in embedded if e.sig_object_type == "/DocTimeStamp"]
    if not stamps:
        return None
    return stamps[-1].signer_cert["tbs_certificate"]["validity"]["not_after"].native


def timestamper_valid_until(timestamper) -> datetime | None:
    """The expiry of a timestamper's own certificate, when it is known before it answers
    (the development TSA's; a remote TSA's shows in its tokens)."""
    cert = getattr(timestamper, "tsa_cert", None)
    return cert["tbs_certificate"]["validity"]["not_after"].native if cert is not None else None
