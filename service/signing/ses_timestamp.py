"""The timestamp of a GB/T 38540 签章数据: ``SES_Signature.timeStamp`` (§ 7.2, 对签名值的时间戳)
holds an RFC 3161 token whose message imprint is the hash of the signature value, so that
the token proves the seal existed at its time whatever the signer's clock said.

The token comes from the timestamper the PAdES seals use (the development TSA, or the
province's TSA by ``ZC_TSA_URL``), with SHA-256 as its imprint; a token hashed with SM3 by
a GM/T 0033 TSA is read as well (its imprint is checked; its SM2 signature is not, for
pyHanko checks RSA and ECDSA tokens only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

from .seal import run_sync
from .sm2 import SM3_OID, sm3
from .trust import TrustConfig, build_validation_context

IMPRINT_ALGORITHM = "sha256"


def request_token(timestamper: TimeStamper, signature_value: bytes) -> bytes:
    """The DER ``TimeStampToken`` over ``signature_value`` (OSError, ValueError: the TSA
    did not answer, or answered nonsense)."""
    digest = hashlib.sha256(signature_value).digest()
    token = run_sync(timestamper.async_timestamp(digest, IMPRINT_ALGORITHM))
    return bytes(token.dump())


@dataclass(frozen=True)
class TimestampCheck:
    at: datetime | None  # the token's time (genTime)
    intact: bool  # the token's signature holds and its imprint is the signature value's
    trusted: bool  # its TSA certificate chains to a trusted root (False when no trust given)


def check_token(token_der: bytes, signature_value: bytes, trust: TrustConfig | None) -> TimestampCheck:
    """Check a token against the signature value it claims to stamp. Nothing raises for a
    hostile token: unreadable is not intact."""
    try:
        info = cms.ContentInfo.load(token_der, strict=True)
        signed = info["content"]
        if info["content_type"].native != "signed_data" or not isinstance(signed, cms.SignedData):
            return TimestampCheck(None, False, False)
        tst = signed["encap_content_info"]["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            return TimestampCheck(None, False, False)
        at = tst["gen_time"].native
        algorithm = tst["message_imprint"]["hash_algorithm"]["algorithm"].dotted
    except (ValueError, TypeError, KeyError):
        return TimestampCheck(None, False, False)
    if algorithm == SM3_OID:  # a GM/T 0033 token: its imprint is checked, not its SM2 signature
        intact = bytes(tst["message_imprint"]["hashed_message"].native) == sm3(signature_value)
        return TimestampCheck(at, intact, False)

    def expected(name: str) -> bytes:
        try:
            return hashlib.new(name, signature_value).digest()
        except ValueError:
            return b""

    # No trust given: an empty one (pyHanko would otherwise fall back on the system's roots);
    # the token's signature and imprint are still checked, its TSA is not trusted.
    context = build_validation_context(trust or TrustConfig(roots=()), moment=at, revocation_mode="soft-fail")
    try:
        status = run_sync(validate_tst_signed_data(signed, context, expected))
    except Exception:  # noqa: BLE001 - pyHanko raises many kinds for a malformed token
        return TimestampCheck(at, False, False)
    intact = bool(status.get("intact")) and bool(status.get("valid"))
    # pyHanko's status kwargs: a path to a trusted root and no trust problem is trusted
    trusted = (
        context is not None and status.get("validation_path") is not None and not status.get("trust_problem_indic")
    )
    return TimestampCheck(at, intact, trusted)
