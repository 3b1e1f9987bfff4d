"""COSE_Sign1 (RFC 9052 §4.2) written over cbor2, and the algorithms it may name.

Written by hand rather than with pycose: the structure is four CBOR items, and signing
here must be deterministic (RFC 6979 through ``cryptography``'s
``deterministic_signing``) so that the same certificate gives the same QR code and the
same PDF bytes; pycose signs with a random nonce and brings the pure-Python ``ecdsa``
package along.

An algorithm is an entry of :data:`VERIFIERS` (COSE ``alg`` id → how to verify with a
public JWK). ES256 (-7) is the one used today; an SM2/SM3 variant adds its own entry
and a signer, nothing else here changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from service.offline.b64 import b64u_decode, b64u_encode

ES256 = -7  # ECDSA P-256 with SHA-256 (RFC 9053 §2.1)
ALG_NAMES = {ES256: "ES256"}
COSE_SIGN1_TAG = 18
HEADER_ALG, HEADER_KID = 1, 4
MAX_COSE_BYTES = 2048  # a QR code holds at most ~2.9 KB; anything longer is not ours


class CoseError(ValueError):
    """Not a COSE_Sign1 message this service could have made."""


class PayloadSigner(Protocol):
    """What signs payloads and lists: a key id, a COSE algorithm, raw signatures."""

    @property
    def kid(self) -> bytes: ...

    @property
    def alg(self) -> int: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1: the protected header's alg and kid, the payload, the signature
    and the bytes the signature covers."""

    alg: int
    kid: bytes
    payload: bytes
    signature: bytes
    signed_bytes: bytes


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """``Sig_structure`` for COSE_Sign1, with no external AAD (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign1(payload: bytes, signer: PayloadSigner) -> bytes:
    """The tagged COSE_Sign1 of ``payload``: alg and kid protected, nothing unprotected."""
    protected = cbor2.dumps({HEADER_ALG: signer.alg, HEADER_KID: signer.kid}, canonical=True)
    signature = signer.sign(sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def parse_sign1(data: bytes) -> Sign1:
    """Read a COSE_Sign1 (tagged or not) without checking its signature."""
    if len(data) > MAX_COSE_BYTES:
        raise CoseError(f"COSE message of {len(data)} bytes (at most {MAX_COSE_BYTES})")
    try:
        item = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CoseError(f"not CBOR: {exc}") from None
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise CoseError(f"CBOR tag {item.tag}, not COSE_Sign1 (18)")
        item = item.value
    if not (isinstance(item, (list, tuple)) and len(item) == 4):
        raise CoseError("COSE_Sign1 must be an array of 4 items")
    protected, _unprotected, payload, signature = item
    if not all(isinstance(part, bytes) for part in (protected, payload, signature)):
        raise CoseError("COSE_Sign1 protected header, payload and signature must be byte strings")
    try:
        header = cbor2.loads(protected)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise CoseError(f"protected header is not CBOR: {exc}") from None
    if not isinstance(header, dict):
        raise CoseError("protected header must be a map")
    alg, kid = header.get(HEADER_ALG), header.get(HEADER_KID)
    if not isinstance(alg, int) or not isinstance(kid, bytes):
        raise CoseError("protected header must name alg (1) and kid (4)")
    return Sign1(alg, kid, payload, signature, sig_structure(protected, payload))


# --- ES256 ------------------------------------------------------------------------


def key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """8 bytes: the first of SHA-256 over the key's SubjectPublicKeyInfo (as EU DCC kids)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:8]


def jwk_of(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public key as a JWK (RFC 7518 §6.2): what browsers' WebCrypto imports."""
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64u_encode(numbers.x.to_bytes(32, "big")),
        "y": b64u_encode(numbers.y.to_bytes(32, "big")),
    }


def public_key_of_jwk(jwk: dict) -> ec.EllipticCurvePublicKey:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise CoseError("key is not an EC P-256 JWK")
    try:
        x = int.from_bytes(b64u_decode(jwk["x"]), "big")
        y = int.from_bytes(b64u_decode(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except (KeyError, ValueError, TypeError) as exc:
        raise CoseError(f"bad JWK: {exc}") from None


def raw_signature(der: bytes) -> bytes:
    """DER ECDSA-Sig-Value → r‖s, 32 bytes each (COSE and JWS carry the raw form)."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@dataclass(frozen=True)
class Es256Signer:
    """ES256 with a private key at hand; RFC 6979 nonces, so equal input → equal bytes."""

    private_key: ec.EllipticCurvePrivateKey

    @property
    def kid(self) -> bytes:
        return key_id(self.private_key.public_key())

    @property
    def alg(self) -> int:
        return ES256

    def sign(self, message: bytes) -> bytes:
        der = self.private_key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        return raw_signature(der)


def verify_es256(jwk: dict, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key_of_jwk(jwk).verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# COSE alg id → verify(jwk, message, signature). SM2 adds its entry here.
VERIFIERS: dict[int, Callable[[dict, bytes, bytes], bool]] = {ES256: verify_es256}


def verify_signature(alg: int, jwk: dict, message: bytes, signature: bytes) -> bool:
    verifier = VERIFIERS.get(alg)
    if verifier is None:
        raise CoseError(f"unsupported algorithm {alg}")
    return verifier(jwk, message, signature)
