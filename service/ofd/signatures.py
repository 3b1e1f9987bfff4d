"""GB/T 38540 seals over an OFD package (GB/T 33190 § 18): ``Doc_0/Signs/Signatures.xml``
lists them; each ``Sign_N/Signature.xml`` names every file of the package with its SM3
check value, the seal's place on the page and the seal (``Seal.esl``, the 印章数据); its
``SignedValue.dat`` is the ``SES_Signature`` over that ``Signature.xml``.

The committee seals first, the issuer second: the second signature's references cover the
first's files too. ``Signatures.xml`` is in no signature's references (each new seal
rewrites it), so :func:`check_package` asks instead that it list exactly the signatures
found, and that no file be in the package that the last seal did not cover.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from lxml import etree

from service.documents.certificate_layout import Box
from service.signing.ses import make_signature
from service.signing.ses_verify import SesVerdict, check_ses_signature
from service.signing.sm2 import SM2_WITH_SM3_OID, SM3_OID, Sm2Signer, sm3
from service.signing.trust import TrustConfig

from .package import OFD_NS, _box, _xml

SIGNATURES = "Doc_0/Signs/Signatures.xml"
_NS = {"ofd": OFD_NS}


@dataclass(frozen=True)
class OfdSeal:
    seal_der: bytes  # the organisation's SES_Seal
    signer: Sm2Signer
    box: Box  # where the stamp shows, mm
    page_id: int


def sign_package(
    files: Mapping[str, bytes],
    seals: tuple[OfdSeal, ...],
    at: datetime,
    timestamp: Callable[[bytes], bytes | None] | None = None,
) -> dict[str, bytes]:
    """``files`` with each seal added in order, and ``Signatures.xml``; ``timestamp``: as
    ``ses.make_signature`` takes it."""
    signed = dict(files)
    entries = []
    for index, seal in enumerate(seals):
        folder = f"Doc_0/Signs/Sign_{index}"
        covered = {name: data for name, data in signed.items() if name != SIGNATURES}
        signature_xml = _signature_xml(covered, seal, folder, index + 1, at)
        signed[f"{folder}/Seal.esl"] = seal.seal_der
        signed[f"{folder}/Signature.xml"] = signature_xml
        signed[f"{folder}/SignedValue.dat"] = make_signature(
            seal.seal_der, signature_xml, f"/{folder}/Signature.xml", at, seal.signer, timestamp
        )
        entries.append(f'<ofd:Signature ID="{index + 1}" Type="Seal" BaseLoc="/{folder}/Signature.xml"/>')
    signed[SIGNATURES] = _xml("Signatures", f"<ofd:MaxSignId>{len(seals)}</ofd:MaxSignId>{''.join(entries)}")
    return signed


def _signature_xml(covered: Mapping[str, bytes], seal: OfdSeal, folder: str, sign_id: int, at: datetime) -> bytes:
    references = "".join(
        f'<ofd:Reference FileRef="/{escape(name)}"><ofd:CheckValue>'
        f"{base64.b64encode(sm3(covered[name])).decode()}</ofd:CheckValue></ofd:Reference>"
        for name in sorted(covered)
    )
    body = (
        "<ofd:SignedInfo>"
        '<ofd:Provider ProviderName="zhicheng-docs" Version="1.0" Company="职称电子证书服务"/>'
        f"<ofd:SignatureMethod>{SM2_WITH_SM3_OID}</ofd:SignatureMethod>"
        f"<ofd:SignatureDateTime>{at.strftime('%Y%m%d%H%M%SZ')}</ofd:SignatureDateTime>"
        f'<ofd:References CheckMethod="{SM3_OID}">{references}</ofd:References>'
        f'<ofd:StampAnnot ID="{sign_id}" PageRef="{seal.page_id}" Boundary="{_box(seal.box)}"/>'
        f"<ofd:Seal><ofd:BaseLoc>/{folder}/Seal.esl</ofd:BaseLoc></ofd:Seal>"
        f"</ofd:SignedInfo><ofd:SignedValue>/{folder}/SignedValue.dat</ofd:SignedValue>"
    )
    return _xml("Signature", body)


@dataclass(frozen=True)
class PackageVerdict:
    """``problems`` empty and two seals: genuine. Problems: ``unreadable`` (a file or its
    XML), ``altered`` (a file changed, added or removed, or a signature fails), ``unsealed``
    (no seal), and each seal's own (:class:`SesVerdict`)."""

    problems: tuple[str, ...]
    seals: tuple[SesVerdict, ...] = ()

    @property
    def genuine(self) -> bool:
        return not self.problems and bool(self.seals)


def check_package(
    files: Mapping[str, bytes], roots: tuple[bytes, ...], parse, timestamps: TrustConfig | None = None
) -> PackageVerdict:
    """Check every seal of a package read by ``service.ofd.reading`` (``parse``: its
    bounded XML parser; ``timestamps``: the trust of the seals' TSA)."""
    if SIGNATURES not in files:
        return PackageVerdict(("unsealed",))
    try:
        listed = parse(files[SIGNATURES]).findall("ofd:Signature", _NS)
        locations = [entry.get("BaseLoc", "").lstrip("/") for entry in listed]
    except etree.XMLSyntaxError:
        return PackageVerdict(("unreadable",))
    if not locations:
        return PackageVerdict(("unsealed",))
    problems: list[str] = []
    verdicts = []
    covered_last: set[str] = set()
    for location in locations:
        folder = location.rsplit("/", 1)[0]
        if location not in files or f"{folder}/SignedValue.dat" not in files:
            return PackageVerdict(("altered",))
        try:
            signed_info = parse(files[location]).find("ofd:SignedInfo", _NS)
            references = {
                ref.get("FileRef", "").lstrip("/"): base64.b64decode(ref.findtext("ofd:CheckValue", "", _NS))
                for ref in signed_info.find("ofd:References", _NS).findall("ofd:Reference", _NS)
            }
        except (etree.XMLSyntaxError, AttributeError, ValueError):
            return PackageVerdict(("unreadable",))
        if any(name not in files or sm3(files[name]) != value for name, value in references.items()):
            problems.append("altered")
        verdict = check_ses_signature(files[f"{folder}/SignedValue.dat"], files[location], roots, timestamps)
        verdicts.append(verdict)
        problems.extend(verdict.problems)
        covered_last = set(references) | {location, f"{folder}/SignedValue.dat", f"{folder}/Seal.esl"}
    if set(files) - covered_last - {SIGNATURES}:
        problems.append("altered")  # a file no seal covers: added after sealing
    return PackageVerdict(tuple(dict.fromkeys(problems)), tuple(verdicts))
