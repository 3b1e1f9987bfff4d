"""An uploaded OFD package checked as an uploaded PDF is, with the same verdicts: read
under bounds (``service.ofd.reading``: zip bombs, huge XML, entities refused), every
GB/T 38540 seal checked over every file (``service.ofd.signatures``), then the registry
asked by the package's SHA-256 and by the identifier its GB/T 36903 metadata names.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from service.errors import FieldError, InvalidInput
from service.ofd.package import METADATA_NAMES, OFD_NS
from service.ofd.reading import OfdUnreadable, parse_xml, read_package
from service.ofd.signatures import PackageVerdict, check_package
from service.registry import certificate_queries as queries
from service.registry import certificates as repo
from service.registry.models import Certificate
from service.verification.facts import UploadVerdict, beijing_time, public_facts, status_verdict

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services

log = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"1\.2\.156\.3005\.2\.[0-9A-Za-z.]+")
_ROLES = ("评委会印章", "发证机关印章")
# Problems of a seal that say it is not one of this service's (a stranger's key or seal maker).
_FOREIGN = {"untrusted", "not_in_seal", "bad_seal"}


def is_ofd(data: bytes) -> bool:
    """A zip (local file header magic) whose entries include OFD.xml: the bytes decide,
    not the file name. Reads the zip's central directory only (its size bounded by the
    upload's), nothing is inflated."""
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        return "OFD.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class OfdChecked:
    verdict: UploadVerdict
    facts: dict | None  # the public facts of the certificate the package names or is
    seals: dict  # the package's own seals, as facts.seal_summary gives a PDF's


def check_uploaded_ofd(services: Services, data: bytes) -> OfdChecked:
    try:
        files = read_package(data)
    except OfdUnreadable as exc:
        raise _unreadable(str(exc)) from exc
    package = check_package(files, services.sm2_seals.roots(), parse_xml, services.sealers.current().trust)
    if "unreadable" in package.problems:
        raise _unreadable("a signature or its references cannot be read")
    named = identifier_of(files.get("OFD.xml", b""))
    with services.sessions() as session:
        by_hash = queries.by_ofd_file(session, hashlib.sha256(data).hexdigest())
        by_number = queries.by_identifier(session, named) if named else None
        verdict = judge_ofd(package, by_hash, by_number)
        facts = None
        if verdict.certificate is not None:
            facts = public_facts(verdict.certificate, repo.current_version(session, verdict.certificate.number))
    log.info(
        "OFD upload checked: %s%s", verdict.code, f" ({verdict.certificate.number})" if verdict.certificate else ""
    )
    return OfdChecked(verdict, facts, seal_summary_of(package))


def judge_ofd(package: PackageVerdict, by_hash: Certificate | None, by_number: Certificate | None) -> UploadVerdict:
    """As ``facts.judge_upload`` for a PDF: byte for byte what was issued, or intact seals
    of ours over every file of the certificate it names (a package zipped again), are that
    certificate's status; a file changed, added or removed is altered."""
    if by_hash is not None:
        return UploadVerdict(status_verdict(by_hash), by_hash)
    problems = set(package.problems)
    if "altered" in problems:
        return UploadVerdict("altered", by_number)
    if not package.seals or all(set(s.problems) & _FOREIGN for s in package.seals):
        return UploadVerdict("not_issued_here")
    if problems:
        return UploadVerdict("unknown_key", by_number)  # one of ours out of its validity, or beside a stranger's
    if by_number is not None and by_number.ofd_sha256 is not None:
        return UploadVerdict(status_verdict(by_number), by_number)
    return UploadVerdict("not_issued_here")


def identifier_of(ofd_xml: bytes) -> str | None:
    """The GB/T 36904 identifier the package's metadata names (电子证照标识, else DocID)."""
    try:
        info = parse_xml(ofd_xml).find(".//ofd:DocInfo", {"ofd": OFD_NS})
    except etree.XMLSyntaxError:
        return None
    if info is None:
        return None
    values = [
        c.text or "" for c in info.iter(f"{{{OFD_NS}}}CustomData") if c.get("Name") == METADATA_NAMES["identifier"]
    ]
    values.append(info.findtext(f"{{{OFD_NS}}}DocID") or "")
    return next((v.strip() for v in values if _IDENTIFIER.fullmatch(v.strip())), None)


def seal_summary_of(package: PackageVerdict) -> dict:
    """The uploaded package's seals as the page shows a PDF's (``facts.seal_summary``)."""
    return {
        "valid": package.genuine,
        "level": "GB/T 38540",
        "seals": [
            {
                "role": _ROLES[index] if index < len(_ROLES) else "印章",
                "signer": seal.seal_name or seal.signer_subject or None,
                "time": beijing_time(seal.timestamped_at or seal.signed_at),  # the TSA's, as a PDF's
                "valid": seal.genuine and "altered" not in package.problems,
            }
            for index, seal in enumerate(package.seals)
        ],
    }


def _unreadable(reason: str) -> InvalidInput:
    message = f"上传的文件不是可读取的 OFD 文件（{reason}）：请上传证书 OFD 或 PDF 文件"
    return InvalidInput(message, errors=[FieldError("file", message, "unreadable")])
