"""An organisation's seal key as the signer of offline payloads (service.offline).

The issuer's ECDSA P-256 seal key signs the QR payload too, so a printed certificate
proves itself with the key whose certificate its PAdES seal already names. A key held
in this process signs with RFC 6979 nonces (equal input, equal bytes); a token key
(PKCS#11) signs through pyHanko with the token's own nonces: still valid, not repeatable.
Other keys (RSA) sign no payload: such certificates verify online only.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from service.offline.b64 import b64u_encode
from service.offline.cose import ALG_NAMES, ES256, Es256Signer, PayloadSigner, jwk_of, key_id, raw_signature
from service.offline.lists import KeyEntry
from service.sealing.pool import OrgSealer
from service.signing.seal import run_sync


@dataclass(frozen=True)
class TokenEs256Signer:
    """ES256 through a pyHanko signer whose key never leaves its token."""

    signer: object
    public_key: ec.EllipticCurvePublicKey

    @property
    def kid(self) -> bytes:
        return key_id(self.public_key)

    @property
    def alg(self) -> int:
        return ES256

    def sign(self, message: bytes) -> bytes:
        der = run_sync(self.signer.async_sign_raw(message, "sha256"))  # type: ignore[attr-defined]
        return raw_signature(der)


def seal_certificate_of(sealer: OrgSealer) -> x509.Certificate:
    cert = sealer.signer.signing_cert
    if cert is None:  # pyHanko allows a signer without one; a seal key always has it
        raise ValueError(f"organisation {sealer.code}'s signer has no certificate")
    return x509.load_der_x509_certificate(cert.dump())


def payload_signer_of(sealer: OrgSealer) -> PayloadSigner | None:
    """The organisation's payload signer, or None when its key is not ECDSA P-256."""
    public_key = seal_certificate_of(sealer).public_key()
    if not (isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1)):
        return None
    private_key = getattr(sealer.signer, "private_key", None)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return Es256Signer(private_key)
    return TokenEs256Signer(sealer.signer, public_key)


def key_entry_of(sealer: OrgSealer) -> KeyEntry | None:
    """What the key list publishes of the organisation's payload key."""
    cert = seal_certificate_of(sealer)
    public_key = cert.public_key()
    if not (isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1)):
        return None
    return KeyEntry(
        kid=b64u_encode(key_id(public_key)),
        alg=ALG_NAMES[ES256],
        org=sealer.code,
        org_name=sealer.name,
        role=sealer.role,
        jwk=jwk_of(public_key),
        valid_from=cert.not_valid_before_utc.isoformat(),
        valid_to=cert.not_valid_after_utc.isoformat(),
        invalidated_after=None,
    )
