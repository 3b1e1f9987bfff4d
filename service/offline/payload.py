"""The QR code's offline payload: a certificate version's facts as CWT claims, signed
as COSE_Sign1, written ``ZC1:`` + base45 after the verification URL's ``#``.

The QR text is ``https://…/v/{token}#ZC1:…``: a phone opens the page (the fragment never
reaches the server), an offline verifier reads the fragment. base45's alphabet is the
QR code's alphanumeric set (5.5 bits a character, against 8 for base64url's bytes), but
its space and ``%`` are not URL characters: the fragment writes them ``%20`` and ``%25``
(themselves alphanumeric), so the text stays a valid URL and in alphanumeric mode.

Claims (docs/qr-payload.md): CWT ``iss`` (1) the issuer's code and ``sub`` (2) the
number; private claims -1…-11 the version, names, codes, dates (RFC 8943 tag 100, days
since 1970-01-01), the salt and the truncated SHA-256 of salt ‖ ID number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta

import cbor2

from service.offline.b64 import b45_decode, b45_encode
from service.offline.cose import CoseError, PayloadSigner, Sign1, parse_sign1, sign1

PREFIX = "ZC1:"
SALT_BYTES = 8
ID_HASH_BYTES = 16
_EPOCH = date(1970, 1, 1)
_DAYS_TAG = 100  # RFC 8943: a full date as days since 1970-01-01

# claim key → attribute; negative keys are RFC 8392's private-use range, one CBOR byte each
_TEXT_CLAIMS = {
    1: "issuer",
    2: "number",
    -2: "name",
    -3: "series",
    -4: "specialty",
    -5: "title",
    -6: "level",
    -7: "committee",
}
_DATE_CLAIMS = {-8: "acquired_on", -9: "issue_date"}
_VERSION, _SALT, _ID_HASH = -1, -10, -11


class PayloadError(ValueError):
    """The text is not an offline payload, or not one this format reads."""


@dataclass(frozen=True)
class OfflineFacts:
    """What a printed certificate proves by itself (no photo, no ID number)."""

    number: str
    version: int
    name: str
    series: str
    specialty: str
    title: str
    level: str
    committee: str
    issuer: str
    acquired_on: date
    issue_date: date
    salt: bytes
    id_hash: bytes

    def public(self) -> dict:
        """As JSON: dates ISO, the salt and hash in hex."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data.update(
            acquired_on=self.acquired_on.isoformat(),
            issue_date=self.issue_date.isoformat(),
            salt=self.salt.hex(),
            id_hash=self.id_hash.hex(),
        )
        return data


@dataclass(frozen=True)
class Decoded:
    facts: OfflineFacts
    cose: Sign1


def id_hash(salt: bytes, id_number: str) -> bytes:
    """SHA-256(salt ‖ ID number, trimmed, upper case, UTF-8), first 16 bytes."""
    return hashlib.sha256(salt + id_number.strip().upper().encode("utf-8")).digest()[:ID_HASH_BYTES]


def id_matches(facts: OfflineFacts, id_number: str) -> bool:
    return hmac.compare_digest(id_hash(facts.salt, id_number), facts.id_hash)


def encode_claims(facts: OfflineFacts) -> bytes:
    claims: dict[int, object] = {key: getattr(facts, name) for key, name in _TEXT_CLAIMS.items()}
    claims.update({key: cbor2.CBORTag(_DAYS_TAG, (getattr(facts, n) - _EPOCH).days) for key, n in _DATE_CLAIMS.items()})
    claims.update({_VERSION: facts.version, _SALT: facts.salt, _ID_HASH: facts.id_hash})
    return cbor2.dumps(claims, canonical=True)


def decode_claims(data: bytes) -> OfflineFacts:
    try:
        claims = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise PayloadError(f"claims are not CBOR: {exc}") from None
    if not isinstance(claims, dict):
        raise PayloadError("claims must be a CBOR map")
    values: dict[str, object] = {}
    for key, name in _TEXT_CLAIMS.items():
        values[name] = _typed(claims, key, str)
    for key, name in _DATE_CLAIMS.items():
        values[name] = _date(claims, key)
    values["version"] = _typed(claims, _VERSION, int)
    values["salt"] = _typed(claims, _SALT, bytes)
    values["id_hash"] = _typed(claims, _ID_HASH, bytes)
    return OfflineFacts(**values)  # type: ignore[arg-type]


def encode_payload(facts: OfflineFacts, signer: PayloadSigner) -> str:
    """``ZC1:`` + base45 of the COSE_Sign1 (no URL escaping: see :func:`qr_text`)."""
    return PREFIX + b45_encode(sign1(encode_claims(facts), signer))


def qr_text(verify_url: str, payload: str | None) -> str:
    """What the QR code holds: the page URL, and the payload after ``#`` when there is one."""
    if payload is None:
        return verify_url
    return f"{verify_url}#{payload.replace('%', '%25').replace(' ', '%20')}"


_UNESCAPE = re.compile("%(20|25)")


def payload_of_text(text: str) -> str:
    """The ``ZC1:`` payload in a scanned text: a whole QR text (URL#payload, the fragment
    escaped as :func:`qr_text` writes it), or the payload alone (not escaped)."""
    text = text.strip()
    if "#" in text:
        text = _UNESCAPE.sub(lambda m: " " if m.group(1) == "20" else "%", text.split("#", 1)[1])
    if not text.startswith(PREFIX):
        raise PayloadError("不是离线查验码：缺少 ZC1: 前缀 (no ZC1: payload)")
    return text


def decode_payload(text: str) -> Decoded:
    """Read (not verify) the payload of a scanned text."""
    payload = payload_of_text(text)
    try:
        cose = parse_sign1(b45_decode(payload[len(PREFIX) :]))
    except (ValueError, CoseError) as exc:
        raise PayloadError(f"离线查验码已损坏 (damaged payload): {exc}") from None
    return Decoded(decode_claims(cose.payload), cose)


def _typed(claims: dict, key: int, kind: type):
    value = claims.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(f"claim {key} missing or not {kind.__name__}")
    return value


def _date(claims: dict, key: int) -> date:
    value = claims.get(key)
    if not (isinstance(value, cbor2.CBORTag) and value.tag == _DAYS_TAG and isinstance(value.value, int)):
        # cbor2 may have decoded tag 100 itself
        if isinstance(value, date):
            return value
        raise PayloadError(f"claim {key} must be a date (tag 100)")
    try:
        return _EPOCH + timedelta(days=value.value)
    except OverflowError:
        raise PayloadError(f"claim {key} is not a date") from None
