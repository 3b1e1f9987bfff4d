"""PAdES sealing, pure: PDF bytes and a :class:`SealRequest` in, sealed PDF bytes out.

The certificate carries two seals: 评委会 (``certify``: certification signature, DocMDP
"fill forms" so that the second seal, the DSS and document timestamps remain allowed) and
发证机关 (``approve``: approval signature).  Both fields are created *before* the first
seal: creating a new field after a certification signature is a change DocMDP P=2 forbids.

B-LTA for the two-seal document is: seal 1 (B-T), seal 2 (B-T), then one revision with the
DSS (certificates and CRLs for both seals and the TSA) and a document timestamp.

pyHanko is async; the sync wrappers run on one event loop per thread, reused across
calls, so an aiohttp TSA session survives between documents.  Async callers (batch
workers) use the ``async_`` variants directly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Literal, TypeVar, cast

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes, Signer
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import ValidationError as CertValidationError

from .errors import InvalidPdfError, KeySourceError, SealingError, SigningError, TimestampError
from .levels import SealLevel, seal_level
from .tsa import timestamper_time

Kind = Literal["certify", "approve"]
MD_ALGORITHM = "sha256"
# Space for a CMS blob is reserved explicitly (no dry-run signature to measure it), and
# kept tight: every later seal, timestamp and validation reads the /Contents hex again.
CMS_OVERHEAD = 2_500  # signed attributes, SignerInfo, TSTInfo, TSA signature (RSA-4096 at most)
UNKNOWN_TSA_CERTS = 8_000  # a real TSA's certificate chain, when we cannot know it in advance
ARCHIVE_TS_FIELD = "ArchiveTimestamp"
T = TypeVar("T")


@dataclass(frozen=True)
class SealField:
    """An empty signature field: ``rect`` is (x1, y1, x2, y2) in PDF points, ``page`` 0-based."""

    name: str
    page: int
    rect: tuple[float, float, float, float]


@dataclass(frozen=True)
class SealRequest:
    signer: Signer
    field_name: str
    kind: Kind
    stamp: BaseStampStyle  # from build_seal_style(png), built once per organisation
    timestamper: TimeStamper
    level: str = "B-T"  # a name in service.signing.levels.LEVELS
    validation_context: ValidationContext | None = None  # required for B-LTA
    reason: str | None = None
    location: str | None = None
    bytes_reserved: int | None = None  # None: estimate_reserved(signer, timestamper)
    signing_time: datetime | None = None  # None: the timestamper's clock


def estimate_reserved(signer: Signer, timestamper: TimeStamper | None) -> int:
    """Hex characters to reserve for a seal, from the certificates that go into it."""
    if signer.signing_cert is None:
        raise SealingError("the signer has no signing certificate")
    certs = {signer.signing_cert.dump()}
    certs |= {c.dump() for c in signer.cert_registry if signer.embed_roots or c.self_signed == "no"}
    size = sum(len(c) for c in certs) + CMS_OVERHEAD
    if timestamper is not None:
        tsa_certs = [getattr(timestamper, "tsa_cert", None), *getattr(timestamper, "certs_to_embed", ())]
        known = [c.dump() for c in tsa_certs if c is not None]
        size += sum(len(c) for c in known) if known else UNKNOWN_TSA_CERTS
    return 2 * (size + size // 10)  # hex, +10 %


def add_seal_fields(pdf_bytes: bytes, seal_fields: Sequence[SealField]) -> bytes:
    """Append empty signature fields in one incremental update (before any seal)."""
    writer = _open_writer(pdf_bytes)
    _append_fields(writer, seal_fields)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _append_fields(writer: IncrementalPdfFileWriter, seal_fields: Sequence[SealField]) -> None:
    page_count = int(writer.root["/Pages"]["/Count"])
    for spec in seal_fields:
        if not 0 <= spec.page < page_count:
            raise SealingError(f"field {spec.name}: page {spec.page} does not exist ({page_count} pages)")
        try:
            fields.append_signature_field(
                writer,
                # pyHanko annotates box as ints; it writes the numbers as they are, and the
                # layout's rectangles are in fractional points.
                fields.SigFieldSpec(sig_field_name=spec.name, on_page=spec.page, box=spec.rect),  # type: ignore[arg-type]
            )
        except (PdfError, PyHankoSigningError) as exc:
            raise SealingError(f"cannot create field {spec.name}: {exc}") from exc


async def async_seal_pdf(pdf_bytes: bytes, request: SealRequest) -> bytes:
    """Apply one seal (B-T); for a level with an archive timestamp (B-LTA), then the DSS
    and a document timestamp over it."""
    level = seal_level(request.level)
    sealed = await _async_sign_bt(pdf_bytes, request)
    if level.archive_timestamp:
        sealed = await async_add_archive_timestamp(sealed, _require_vc(request), request.timestamper)
    return sealed


async def async_seal_certificate(
    pdf_bytes: bytes,
    committee: SealRequest,
    issuer: SealRequest,
    level: str | SealLevel,
    new_fields: Sequence[SealField] = (),
) -> bytes:
    """评委会 certifies, 发证机关 approves; for a level with an archive timestamp (B-LTA)
    one DSS + document timestamp covers both.

    ``new_fields``: signature fields to create first, in the committee seal's own revision
    (the same document as :func:`add_seal_fields` then sealing, one read and write less)."""
    if committee.kind != "certify" or issuer.kind != "approve":
        raise SealingError("the committee seal must certify and the issuer seal must approve")
    chosen = seal_level(level)
    first = await _async_sign_bt(pdf_bytes, committee, new_fields)
    both = await _async_sign_bt(first, issuer)
    if not chosen.archive_timestamp:
        return both
    return await async_add_archive_timestamp(both, _require_vc(issuer), issuer.timestamper)


async def async_add_archive_timestamp(
    pdf_bytes: bytes, validation_context: ValidationContext, timestamper: TimeStamper
) -> bytes:
    """Add a DSS with the certificates and revocation data of every seal (and of their
    timestamp tokens), and a document timestamp over it, in a single revision."""
    reader = _open_reader(pdf_bytes)
    paths = []
    try:
        for embedded in reader.embedded_regular_signatures:
            paths.extend(await collect_validation_info(embedded, validation_context))
    except CertValidationError as exc:
        raise SealingError(f"cannot gather revocation data for B-LTA: {exc}") from exc
    writer = IncrementalPdfFileWriter.from_reader(reader)
    DocumentSecurityStore.supply_dss_in_writer(
        writer, sig_contents=None, paths=paths, validation_context=validation_context
    )
    ts_field = _unused_field_name(reader, ARCHIVE_TS_FIELD)
    try:
        out = await signers.PdfTimeStamper(timestamper, field_name=ts_field).async_timestamp_pdf(
            writer, MD_ALGORITHM, bytes_reserved=_doc_ts_reserved(timestamper), output=BytesIO()
        )
    except TimestampRequestError as exc:
        raise TimestampError(f"the time-stamping authority failed (document timestamp): {exc}") from exc
    except (PdfError, PyHankoSigningError, OSError) as exc:
        raise SealingError(f"document timestamp failed: {exc}") from exc
    return out.getvalue()


def seal_pdf(pdf_bytes: bytes, request: SealRequest) -> bytes:
    return run_sync(async_seal_pdf(pdf_bytes, request))


def seal_certificate(
    pdf_bytes: bytes,
    committee: SealRequest,
    issuer: SealRequest,
    level: str | SealLevel,
    new_fields: Sequence[SealField] = (),
) -> bytes:
    return run_sync(async_seal_certificate(pdf_bytes, committee, issuer, level, new_fields))


def add_archive_timestamp(pdf_bytes: bytes, validation_context: ValidationContext, timestamper: TimeStamper) -> bytes:
    return run_sync(async_add_archive_timestamp(pdf_bytes, validation_context, timestamper))


_thread_state = threading.local()


def run_sync(coro: Coroutine[object, object, T]) -> T:
    """Run on this thread's long-lived event loop (created on first use, not at import)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise SigningError("called the sync sealing API inside an event loop; await the async_ variant")
    loop = getattr(_thread_state, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread_state.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


async def _async_sign_bt(pdf_bytes: bytes, request: SealRequest, new_fields: Sequence[SealField] = ()) -> bytes:
    # pyHanko's PdfSigner.async_sign_pdf stamps the wall clock into /M and signingTime;
    # the same steps are run here so that the signing time comes from the timestamper.
    writer = _open_writer(pdf_bytes)
    _append_fields(writer, new_fields)
    signing_time = request.signing_time or timestamper_time(request.timestamper)
    meta = signers.PdfSignatureMetadata(
        field_name=request.field_name,
        md_algorithm=MD_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=request.kind == "certify",
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        reason=request.reason,
        location=request.location,
    )
    pdf_signer = signers.PdfSigner(meta, request.signer, timestamper=request.timestamper, stamp_style=request.stamp)
    try:
        session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
        session.system_time = signing_time
        reserved = request.bytes_reserved or estimate_reserved(request.signer, request.timestamper)
        tbs = session.prepare_tbs_document(validation_info=None, bytes_reserved=reserved)
        prepared, output = tbs.digest_tbs_document(output=BytesIO())
        post_sign = await tbs.perform_signature(
            document_digest=prepared.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=signing_time),
        )
        await post_sign.post_signature_processing(output)
    except TimestampRequestError as exc:
        raise TimestampError(f"the time-stamping authority failed for {request.field_name!r}: {exc}") from exc
    except TOKEN_ERRORS as exc:
        # The token was removed, its session went stale, the device stopped answering.
        raise KeySourceError(
            f"the key token failed while sealing {request.field_name!r}: {type(exc).__name__} {exc}".strip()
        ) from exc
    except (PdfError, PyHankoSigningError, OSError, ValueError) as exc:
        raise SealingError(f"sealing field {request.field_name!r} failed: {exc}") from exc
    return cast(BytesIO, output).getvalue()  # the BytesIO given to digest_tbs_document


def _token_errors() -> tuple[type[BaseException], ...]:
    try:
        from pkcs11.exceptions import PKCS11Error  # python-pkcs11: with pyHanko's pkcs11 extra
    except ImportError:
        return ()
    return (PKCS11Error,)


TOKEN_ERRORS = _token_errors()


def _doc_ts_reserved(timestamper: TimeStamper) -> int:
    tsa_certs = [getattr(timestamper, "tsa_cert", None), *getattr(timestamper, "certs_to_embed", ())]
    known = [len(c.dump()) for c in tsa_certs if c is not None]
    size = (sum(known) if known else UNKNOWN_TSA_CERTS) + CMS_OVERHEAD
    return 2 * (size + size // 10)


def _require_vc(request: SealRequest) -> ValidationContext:
    if request.validation_context is None:
        raise SealingError("B-LTA needs a validation context with the trust roots and CRLs")
    return request.validation_context


def _unused_field_name(reader: PdfFileReader, base: str) -> str:
    existing = {name for name, _, _ in fields.enumerate_sig_fields(reader)}
    if base not in existing:
        return base
    n = 2
    while f"{base}{n}" in existing:
        n += 1
    return f"{base}{n}"


def _open_reader(pdf_bytes: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(pdf_bytes))
    except (PdfError, ValueError, IndexError, KeyError) as exc:
        raise InvalidPdfError(f"not a readable PDF: {exc}") from exc


def _open_writer(pdf_bytes: bytes) -> IncrementalPdfFileWriter:
    if not pdf_bytes.lstrip()[:5] == b"%PDF-":
        raise InvalidPdfError("not a PDF (no %PDF- header)")
    try:
        return IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    except (PdfError, ValueError, IndexError, KeyError) as exc:
        raise InvalidPdfError(f"not a readable PDF: {exc}") from exc
