"""Keys -> pyHanko ``Signer``, from bytes: the pure part (reading key files, the
environment and tokens is the edge's: :mod:`service.sealing.key_sources`).

Build a signer once per key and keep it (the caller caches it for the life of the
worker): pyHanko's ``SimpleSigner`` re-parses its private key on every signature, which
costs ~45 ms for RSA, so :class:`CachedKeySigner` parses once and keeps the key object.
"""

from __future__ import annotations

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .attributes import ReusedSigningCertificate
from .errors import KeySourceError


class CachedKeySigner(ReusedSigningCertificate, SimpleSigner):
    """``SimpleSigner`` that signs with a key object parsed once, not per signature.

    Roots are not embedded by default: a validator brings its own trust anchors, and every
    byte of the CMS blob is later parsed as a hex string by pyHanko (slowly, in Python).
    """

    def __init__(self, signing_cert, private_key, cert_registry, embed_roots: bool = False):
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(
            signing_cert=signing_cert,
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=cert_registry,
            embed_roots=embed_roots,
        )
        self._private_key = private_key

    @property
    def private_key(self):
        """The parsed key (``cryptography``): offline payloads are signed with it too."""
        return self._private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = getattr(hashes, digest_algorithm.upper().replace("-", "_"))()
        key = self._private_key
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hash_algo))
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hash_algo)
        # anything unusual (PSS, EdDSA ...): pyHanko's own path, slower but complete
        return super().sign_raw(data, digest_algorithm)


def signer_from_pem_bytes(
    key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"", passphrase: bytes | None = None
) -> Signer:
    """A signer from a PEM key and certificate (and a PEM chain), as bytes."""
    try:
        chain = list(load_certs_from_pemder_data(chain_pem)) if chain_pem else []
    except ValueError as exc:
        raise KeySourceError(f"cannot read certificate chain: {exc}") from exc
    return signer_from_pem(key_pem, cert_pem, passphrase, chain)


def signer_from_pkcs12_bytes(data: bytes, password: bytes | None, chain: list, name: str = "PKCS#12") -> Signer:
    """A signer from a PKCS#12 file's bytes (``name``: what the error messages call it)."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError) as exc:
        raise KeySourceError(f"cannot open PKCS#12 {name} (wrong password?): {exc}") from exc
    if key is None or cert is None:
        raise KeySourceError(f"PKCS#12 {name} holds no key and certificate")
    certs = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in extra]
    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    return _cached_signer(key, signing_cert, certs + chain)


def certificates_from_pem(data: bytes) -> list:
    """The certificates of a PEM (or DER) bundle, as pyHanko reads them."""
    return list(load_certs_from_pemder_data(data))


def close_signer(signer: Signer) -> None:
    """Release a PKCS#11 session held by a signer (no-op for file keys)."""
    session = getattr(signer, "pkcs11_session", None)
    if session is not None:
        session.close()


def signer_from_pem(key_pem: bytes, cert_pem: bytes, secret: bytes | None, chain: list) -> Signer:
    try:
        key = serialization.load_pem_private_key(key_pem, password=secret)
        cert = asn1_x509.Certificate.load(_pem_cert_der(cert_pem))
    except (ValueError, TypeError) as exc:
        raise KeySourceError(f"cannot read key or certificate (wrong passphrase?): {exc}") from exc
    return _cached_signer(key, cert, chain)


def _cached_signer(key, cert: asn1_x509.Certificate, chain: list) -> Signer:
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise KeySourceError(f"unsupported key type {type(key).__name__}; use ECDSA or RSA")
    store = SimpleCertificateStore.from_certs([cert, *chain])
    return CachedKeySigner(cert, key, store)


def _pem_cert_der(data: bytes) -> bytes:
    certs = list(load_certs_from_pemder_data(data))
    if not certs:
        raise ValueError("no certificate found")
    return certs[0].dump()
