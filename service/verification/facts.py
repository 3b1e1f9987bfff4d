"""证书查验: what the public may learn about a certificate, and how an uploaded file fares.

Anonymous visitors see the status, the holder's name, a masked ID number,
the qualification, the committee and issuer, the dates and the state of the
seals. Never the full ID number, the phone or the photo.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from sqlalchemy.orm import Session

from service.certificates.offline_payload import printed_payload
from service.documents.filters import mask_id
from service.offline.b64 import b64u_encode
from service.offline.payload import decode_payload
from service.registry import certificates as repo
from service.registry.models import Certificate

BEIJING = timezone(timedelta(hours=8), "CST")
STATUS_TEXT = {
    "valid": "有效",
    "pending_seal": "待签章",
    "revoked": "已撤销",
    "superseded": "已换发",
}
SEAL_ROLES = {"certify": "评委会", "approve": "发证机关"}
# Why a certificate was revoked, as the public may read it: a fixed category. What staff
# wrote in their own words stays in the registry and the audit log.
REVOCATION_CATEGORIES = {
    "materials_falsified": "申报材料弄虚作假",
    "improperly_obtained": "违反规定取得",
    "information_error": "证书信息有误",
    "holder_request": "持证人申请注销",
    "other": "其他原因",
}
SEAL_RECHECK = timedelta(days=1)


def seal_summary(report) -> dict:
    """The part of a validation report the public page shows."""
    return {
        "valid": report.valid,
        "level": report.pades_level,
        "seals": [
            {
                "role": SEAL_ROLES.get(seal.kind, "印章"),
                "signer": seal.organisation or (seal.certificate.common_name if seal.certificate else None),
                "time": beijing_time(seal.timestamp.time if seal.timestamp else seal.signing_time),
                "valid": seal.valid,
            }
            for seal in report.seals
        ],
    }


def beijing_time(moment: datetime | None) -> str | None:
    """Seal times as people in China read them."""
    return moment.astimezone(BEIJING).isoformat() if moment else None


def needs_seal_check(cert: Certificate, now: datetime) -> bool:
    if cert.status == "pending_seal" or cert.seal_level is None:
        return False
    checked = cert.seal_checked_at
    if checked is not None and checked.tzinfo is None:
        checked = checked.replace(tzinfo=UTC)
    return checked is None or now - checked > SEAL_RECHECK


def _offline_facts(payload: str | None) -> dict | None:
    if not payload:
        return None
    return dict(_decoded_facts(payload))  # a copy: the caller may add to it


@lru_cache(maxsize=4096)
def _decoded_facts(payload: str) -> tuple[tuple[str, object], ...]:
    """The payload's facts, decoded once per payload: every uncached scan of a page asks
    again, and base45 + CBOR + COSE cost more than the rest of the facts together. The
    values are strings, numbers and None: nothing a caller could change in place."""
    decoded = decode_payload(payload)
    return tuple({"kid": b64u_encode(decoded.cose.kid), **decoded.facts.public()}.items())


def public_facts(cert: Certificate, current: Certificate | None, base_url: str = "", *, offline: bool = True) -> dict:
    """Everything the public page and the public API say about ``cert``. ``offline=False``:
    without the QR payload's decoded facts (the HTML page shows none of them, and decoding a
    payload not seen lately is a tenth of an uncached scan)."""
    request = cert.request
    qualification = request["qualification"]
    facts = {
        "status": cert.status,
        "status_text": STATUS_TEXT[cert.status],
        "genuine": True,
        "number": cert.number,
        "version": cert.version,
        "identifier": cert.identifier,
        "holder": {
            "name": cert.holder_name,
            "id_number_masked": mask_id(cert.holder_id_number),
            "gender": request["holder"].get("gender"),
        },
        "qualification": {
            key: qualification.get(key)
            for key in ("series", "specialty", "title", "level", "route", "nature", "acquired_on", "approval_doc_no")
        },
        "committee": request["committee"]["name"],
        "issuer": request["issuer"]["name"],
        "issue_date": cert.issue_date.isoformat(),
        "seals": cert.seal_summary,
        "revoked": None,
        "superseded_by": None,
    }
    if offline:
        # what the QR code's signed payload says (service.offline.payload): the same facts,
        # for an app that compares them with what it decoded offline; None: no payload
        facts["offline_payload"] = _offline_facts(printed_payload(cert))
    if cert.status == "revoked":
        category = cert.revoked_category or "other"
        facts["revoked"] = {
            "date": cert.revoked_at.date().isoformat() if cert.revoked_at else None,
            "category": category,
            "reason": REVOCATION_CATEGORIES.get(category, "其他原因"),
        }
    if cert.status == "superseded" and current is not None and current.id != cert.id:
        facts["superseded_by"] = {
            "number": current.number,
            "version": current.version,
            "url": f"{base_url}/v/{current.token}",
            "status": current.status,
        }
    return facts


def lookup_by_number_and_name(session: Session, number: str, name: str) -> Certificate | None:
    """The current version when both the number and the holder's name match, else None.

    A miss and a wrong name take the same path (the name is compared even
    when there is no certificate, in constant time), so the answer says
    nothing about which numbers exist."""
    cert = repo.current_version(session, number.strip())
    stored = cert.holder_name if cert is not None else "\u0000" * 8
    same = hmac.compare_digest(_digest(stored), _digest(name.strip()))
    return cert if cert is not None and same else None


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


# --- uploads --------------------------------------------------------------------

VERDICTS = {
    "genuine_current": "真实有效：该文件由本服务签发，印章完好，证书当前有效",
    "genuine_pending": "真实：该文件由本服务签发，证书有效，电子印章尚待加盖",
    "genuine_revoked": "真实但已撤销：该文件由本服务签发，但证书已被撤销",
    "genuine_superseded": "真实但已换发：该文件由本服务签发，但证书已换发新版本",
    "altered": "已被改动：文件在加盖电子印章后被修改，内容不可信",
    "unknown_key": "印章不可信：文件上的电子印章不是由受信任的机构加盖",
    "not_issued_here": "非本服务签发：本服务没有签发过这份文件",
}


@dataclass(frozen=True)
class UploadVerdict:
    code: str
    certificate: Certificate | None = None
    report: object | None = None
    current: Certificate | None = None  # the newest version of the certificate, when known
    summary: dict | None = None  # seal_summary(report)

    @property
    def message(self) -> str:
        return VERDICTS[self.code]


def judge_upload(report, by_hash: Certificate | None, by_number: Certificate | None) -> UploadVerdict:
    """Decide what an uploaded file is, from its validation report and what the registry holds.

    ``by_hash``: the version whose file is byte for byte this one (then it is
    exactly what was issued); ``by_number``: the version the file names
    inside (found even when the file was altered)."""
    if by_hash is not None:
        return UploadVerdict(status_verdict(by_hash), by_hash, report)
    codes = {reason.code for reason in report.reasons} | {r.code for s in report.seals for r in s.reasons}
    if report.seals and ("altered" in codes or report.unpermitted_changes):
        return UploadVerdict("altered", by_number, report)
    if report.seals and not any(seal.trusted for seal in report.seals):
        # Sealed, but by no key this service trusts (a key made elsewhere): not ours.
        return UploadVerdict("not_issued_here", None, report)
    if report.seals and codes & {"untrusted", "revoked", "expired"}:
        # One of our keys, revoked or expired, or our seal beside a stranger's.
        return UploadVerdict("unknown_key", by_number, report)
    if report.seals and report.valid and by_number is not None:
        # Our seals, intact, on a file with later permitted updates (a validation
        # tool may add revocation data): the certificate the file names is the one.
        return UploadVerdict(status_verdict(by_number), by_number, report)
    return UploadVerdict("not_issued_here", None, report)


def status_verdict(cert: Certificate) -> str:
    return {
        "valid": "genuine_current",
        "pending_seal": "genuine_pending",
        "revoked": "genuine_revoked",
        "superseded": "genuine_superseded",
    }[cert.status]
