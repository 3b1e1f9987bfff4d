"""The validation report: frozen dataclasses, JSON-ready through ``to_dict()``.

Reasons carry a stable English ``code`` (for programs and logs) and a plain Chinese
``message`` for the people who scan a certificate's QR code, with an English gloss.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Verdict = Literal["valid", "invalid"]

# code -> (中文, English)
REASONS: dict[str, tuple[str, str]] = {
    "no_signatures": ("文件中没有电子印章。", "The document carries no seal."),
    "altered": ("盖章后文件内容被修改，印章已失效。", "The document was altered after it was sealed."),
    "untrusted": ("印章证书不是由受信任的机构签发。", "The seal certificate does not chain to a trusted root."),
    "revoked": ("印章证书已被吊销。", "The seal certificate has been revoked."),
    "expired": ("盖章时印章证书不在有效期内。", "The seal certificate was not within its validity period."),
    "timestamp_invalid": ("印章所附时间戳无效。", "The seal's timestamp token is not valid."),
    "revocation_unknown": ("无法确认印章证书未被吊销（缺少吊销信息）。", "Revocation status could not be established."),
    "revocation_not_embedded": (
        "文件未内嵌吊销信息，不满足长期验证（LTV）要求。",
        "The document does not embed revocation data (not long-term verifiable).",
    ),
    "doc_timestamp_invalid": ("文档时间戳无效。", "A document timestamp is not valid."),
    "unreadable_signature": ("印章数据损坏，无法读取。", "The seal data is damaged and cannot be read."),
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    message_en: str
    field_name: str | None = None

    @classmethod
    def of(cls, code: str, field_name: str | None = None) -> Reason:
        zh, en = REASONS[code]
        prefix = f"[{field_name}] " if field_name else ""
        return cls(code=code, message=prefix + zh, message_en=prefix + en, field_name=field_name)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    common_name: str | None
    organisation: str | None
    serial_hex: str
    issuer: str
    sha256: str
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class TimestampInfo:
    time: datetime
    valid: bool  # intact, cryptographically valid and its TSA trusted
    tsa: str | None


@dataclass(frozen=True)
class SealReport:
    field_name: str
    kind: Literal["certify", "approve", "unknown"]
    organisation: str | None
    certificate: CertificateInfo | None
    intact: bool  # the document digest matches the signed one
    signature_valid: bool  # the signature over the signed attributes verifies
    trusted: bool  # chains to a trusted root, not revoked, not expired, usage OK
    revocation_checked: bool
    revoked: bool
    revocation_date: datetime | None
    expired: bool
    timestamp: TimestampInfo | None
    signing_time: datetime | None  # claimed by the signer; the timestamp is what counts
    validated_at: datetime | None  # time at which the certificate chain was judged
    modification_level: str | None  # pyHanko ModificationLevel name
    docmdp: str | None  # DocMDP permission in force for this seal
    docmdp_respected: bool
    coverage: str | None  # entire_file / entire_revision / ...
    pades_level: str | None  # B-B, B-T, B-LT, B-LTA; None when the seal is not valid
    reasons: tuple[Reason, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class DocumentTimestampReport:
    field_name: str
    time: datetime | None
    intact: bool
    trusted: bool
    coverage: str | None
    modification_level: str | None


@dataclass(frozen=True)
class ValidationReport:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    seals: tuple[SealReport, ...]
    document_timestamps: tuple[DocumentTimestampReport, ...]
    revisions: int
    changes_after_last_signature: bool
    unpermitted_changes: bool
    validation_time: datetime
    strict: bool

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    @property
    def pades_level(self) -> str | None:
        """The level every seal reaches (the weakest), None if any seal is not valid."""
        levels = [s.pades_level for s in self.seals]
        if not levels or None in levels:
            return None
        order = ("B-B", "B-T", "B-LT", "B-LTA")
        return min(levels, key=order.index)

    def to_dict(self) -> dict:
        out = _jsonable(dataclasses.asdict(self))
        out["pades_level"] = self.pades_level
        return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    return value
