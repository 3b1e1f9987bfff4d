"""The signed key list and status list: JSON payloads in a JWS, flattened JSON
serialization (RFC 7515 §7.2.2), ES256 (raw r‖s, as WebCrypto verifies it).

JSON rather than CBOR here: the lists are fetched, not scanned, and a reader should be
able to look at them. The list signer's public JWK travels in the unprotected header;
a verifier pins it (the offline page by the key it was served with, the command line by
``--list-key``) and otherwise only checks that the kid is that key's.

Status entries are the first 8 bytes of SHA-256("{number}/{version}"), hex: the list
does not spell the numbers out (it does not hide them from someone who guesses numbers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.offline.b64 import b64u_decode, b64u_encode
from service.offline.cose import ALG_NAMES, CoseError, PayloadSigner, key_id, public_key_of_jwk, verify_signature

KEYS_TYPE = "zc-keys+jws"
STATUS_TYPE = "zc-status+jws"
_ALG_IDS = {name: alg for alg, name in ALG_NAMES.items()}


class ListError(ValueError):
    """A list that is not signed as it should be, or not a list at all."""


@dataclass(frozen=True)
class KeyEntry:
    kid: str  # base64url of the 8-byte key id
    alg: str
    org: str
    org_name: str
    role: str
    jwk: dict
    valid_from: str  # ISO 8601
    valid_to: str
    invalidated_after: str | None  # ISO date: certificates issued on or after it are invalid


def status_entry(number: str, version: int) -> str:
    return hashlib.sha256(f"{number}/{version}".encode()).digest()[:8].hex()


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_list(payload: dict, signer: PayloadSigner, typ: str, signer_jwk: dict) -> dict:
    protected = b64u_encode(canonical_json({"alg": ALG_NAMES[signer.alg], "kid": b64u_encode(signer.kid), "typ": typ}))
    body = b64u_encode(canonical_json(payload))
    signature = signer.sign(f"{protected}.{body}".encode("ascii"))
    return {"protected": protected, "header": {"jwk": signer_jwk}, "payload": body, "signature": b64u_encode(signature)}


def key_list(issuer: str, issued_at: datetime, keys: list[KeyEntry]) -> dict:
    return {
        "type": "zc-keys",
        "iss": issuer,
        "iat": issued_at.isoformat(),
        "keys": [entry.__dict__ for entry in keys],
    }


def status_list(issuer: str, issued_at: datetime, valid_until: datetime, revoked: list[str], superseded: list[str]):
    return {
        "type": "zc-status",
        "iss": issuer,
        "iat": issued_at.isoformat(),
        "valid_until": valid_until.isoformat(),
        "entry": "sha256(number/version)[:8]",
        "revoked": sorted(revoked),
        "superseded": sorted(superseded),
    }


@dataclass(frozen=True)
class VerifiedList:
    payload: dict
    signer_kid: str
    pinned: bool  # the signer was the key the caller trusts, not merely the one the list names


def verify_list(document: Any, typ: str, trusted_jwk: dict | None = None) -> VerifiedList:
    """Check a list's signature and return its payload; raises ListError."""
    try:
        header = json.loads(b64u_decode(document["protected"]))
        payload = json.loads(b64u_decode(document["payload"]))
        signature = b64u_decode(document["signature"])
        jwk = trusted_jwk or document["header"]["jwk"]
        kid = header["kid"]
        alg = _ALG_IDS[header["alg"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ListError(f"not a signed list: {exc}") from None
    if header.get("typ") != typ:
        raise ListError(f"list of type {header.get('typ')!r}, expected {typ!r}")
    try:
        if b64u_encode(key_id(public_key_of_jwk(jwk))) != kid:
            raise ListError("list signed by another key than the one trusted")
        good = verify_signature(alg, jwk, f"{document['protected']}.{document['payload']}".encode("ascii"), signature)
    except CoseError as exc:
        raise ListError(str(exc)) from None
    if not good or not isinstance(payload, dict):
        raise ListError("list signature does not verify")
    return VerifiedList(payload, kid, pinned=trusted_jwk is not None)
