"""Verify a scanned payload with nothing but the key list and the status list.

The order of the checks, each a verdict of its own: the text reads as a payload; its
kid is a published key; the signature verifies with it; the key was not invalidated
before the certificate's issue date; the status list is fresh; the version is not in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from service.offline.b64 import b64u_encode
from service.offline.cose import ALG_NAMES, CoseError, verify_signature
from service.offline.lists import status_entry
from service.offline.payload import OfflineFacts, PayloadError, decode_payload

# verdict → (what the page says, the command line's exit code)
VERDICTS = {
    "valid": ("有效", 0),
    "invalid": ("无效", 1),
    "revoked": ("已撤销", 3),
    "superseded": ("已换发", 4),
    "stale": ("状态列表已过期，请联网更新", 5),
}


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    facts: OfflineFacts | None = None
    key: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict][0]

    @property
    def exit_code(self) -> int:
        return VERDICTS[self.verdict][1]


def check_offline(text: str, keys: dict, status: dict | None, now: datetime) -> Verdict:
    """``keys`` and ``status``: the payloads of lists whose signatures were checked
    (:func:`service.offline.lists.verify_list`); ``status`` None: none at hand."""
    try:
        decoded = decode_payload(text)
    except PayloadError as exc:
        return Verdict("invalid", str(exc))
    kid = b64u_encode(decoded.cose.kid)
    key = next((k for k in keys.get("keys", []) if k.get("kid") == kid), None)
    if key is None:
        return Verdict("invalid", f"签名密钥 {kid} 不在密钥列表中 (unknown key)")
    facts = decoded.facts
    try:
        good = key.get("alg") == ALG_NAMES.get(decoded.cose.alg) and verify_signature(
            decoded.cose.alg, key["jwk"], decoded.cose.signed_bytes, decoded.cose.signature
        )
    except CoseError as exc:
        return Verdict("invalid", f"签名无法核验 ({exc})")
    if not good:
        return Verdict("invalid", "签名不符：内容被改动或并非本机构签发 (signature does not verify)")
    if key.get("org") != facts.issuer:
        return Verdict("invalid", f"签名密钥属于 {key.get('org')}，而非发证机关 {facts.issuer}", key=key)
    invalid_after = key.get("invalidated_after")
    if invalid_after and facts.issue_date >= date.fromisoformat(invalid_after):
        return Verdict("invalid", f"签名密钥自 {invalid_after} 起作废，此证书签发于其后", facts, key)
    if status is None:
        return Verdict("stale", "没有状态列表", facts, key)
    valid_until = datetime.fromisoformat(status["valid_until"])
    if now > valid_until:
        return Verdict("stale", f"状态列表有效期至 {valid_until:%Y-%m-%d %H:%M}", facts, key)
    entry = status_entry(facts.number, facts.version)
    if entry in status.get("revoked", []):
        return Verdict("revoked", "证书已撤销", facts, key)
    if entry in status.get("superseded", []):
        return Verdict("superseded", "证书已换发新版本", facts, key)
    return Verdict("valid", "签名有效，未被撤销", facts, key)
