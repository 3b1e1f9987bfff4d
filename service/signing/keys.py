"""Key sources -> pyHanko ``Signer``.

Build a signer once per key source and keep it (the caller caches it for the life of the
worker): pyHanko's ``SimpleSigner`` re-parses its private key on every signature, which
costs ~45 ms for RSA, so :class:`CachedKeySigner` parses once and keeps the key object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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

KeyKind = Literal["pem", "pkcs12", "pkcs11"]


@dataclass(frozen=True)
class KeySource:
    """Where a seal's key lives. Build with :meth:`pem`, :meth:`pkcs12` or :meth:`pkcs11`.

    Secrets never live in settings files: ``secret_env`` names the environment variable
    holding the key passphrase / PKCS#12 password / token PIN.  ``chain_path`` is a PEM
    bundle of intermediate (and optionally root) certificates embedded in each seal.
    """

    kind: KeyKind
    key_path: Path | None = None
    cert_path: Path | None = None
    chain_path: Path | None = None
    secret_env: str | None = None
    module_path: Path | None = None
    token_label: str | None = None
    key_label: str | None = None
    cert_label: str | None = None

    @classmethod
    def pem(cls, key_path: Path, cert_path: Path, chain_path: Path | None = None, passphrase_env: str | None = None):
        return cls(
            "pem",
            key_path=Path(key_path),
            cert_path=Path(cert_path),
            chain_path=_opt_path(chain_path),
            secret_env=passphrase_env,
        )

    @classmethod
    def pkcs12(cls, p12_path: Path, passphrase_env: str | None = None, chain_path: Path | None = None):
        return cls("pkcs12", key_path=Path(p12_path), chain_path=_opt_path(chain_path), secret_env=passphrase_env)

    @classmethod
    def pkcs11(
        cls,
        module_path: Path,
        token_label: str,
        key_label: str,
        pin_env: str,
        cert_label: str | None = None,
        chain_path: Path | None = None,
    ):
        return cls(
            "pkcs11", module_path=Path(module_path), token_label=token_label, key_label=key_label,
            cert_label=cert_label, secret_env=pin_env, chain_path=_opt_path(chain_path),
        )  # fmt: skip


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


def load_signer(source: KeySource, environ: Mapping[str, str] | None = None) -> Signer:
    """Open the key source and return a ready pyHanko signer (call once, then reuse)."""
    environ = os.environ if environ is None else environ
    secret = _read_secret(source, environ)
    chain = _read_chain(source.chain_path)
    if source.kind == "pem":
        return _load_pem(source, secret, chain)
    if source.kind == "pkcs12":
        return _load_pkcs12(source, secret, chain)
    if source.kind == "pkcs11":
        return _load_pkcs11(source, secret, chain)
    raise KeySourceError(f"unknown key source kind {source.kind!r}")


def signer_from_pem_bytes(
    key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"", passphrase: bytes | None = None
) -> Signer:
    """Same as a PEM :class:`KeySource`, from bytes (the development PKI, tests)."""
    try:
        chain = list(load_certs_from_pemder_data(chain_pem)) if chain_pem else []
    except ValueError as exc:
        raise KeySourceError(f"cannot read certificate chain: {exc}") from exc
    return _signer_from_pem(key_pem, cert_pem, passphrase, chain)


def close_signer(signer: Signer) -> None:
    """Release a PKCS#11 session held by a signer (no-op for file keys)."""
    session = getattr(signer, "pkcs11_session", None)
    if session is not None:
        session.close()


def _load_pem(source: KeySource, secret: bytes | None, chain: list) -> Signer:
    return _signer_from_pem(_read(source.key_path), _read(source.cert_path), secret, chain)


def _signer_from_pem(key_pem: bytes, cert_pem: bytes, secret: bytes | None, chain: list) -> Signer:
    try:
        key = serialization.load_pem_private_key(key_pem, password=secret)
        cert = asn1_x509.Certificate.load(_pem_cert_der(cert_pem))
    except (ValueError, TypeError) as exc:
        raise KeySourceError(f"cannot read key or certificate (wrong passphrase?): {exc}") from exc
    return _cached_signer(key, cert, chain)


def _load_pkcs12(source: KeySource, secret: bytes | None, chain: list) -> Signer:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(_read(source.key_path), secret)
    except (ValueError, TypeError) as exc:
        raise KeySourceError(f"cannot open PKCS#12 {source.key_path} (wrong password?): {exc}") from exc
    if key is None or cert is None:
        raise KeySourceError(f"PKCS#12 {source.key_path} holds no key and certificate")
    certs = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in extra]
    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    return _cached_signer(key, signing_cert, certs + chain)


def _load_pkcs11(source: KeySource, pin: bytes | None, chain: list) -> Signer:
    # Imported here: python-pkcs11 is an optional extra and loads a native module.
    try:
        from pkcs11 import PKCS11Error
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise KeySourceError("PKCS#11 support needs pyHanko[pkcs11] (python-pkcs11)") from exc
    if pin is None:
        raise KeySourceError(f"PKCS#11 PIN variable {source.secret_env!r} is not set")
    def open_session():
        return open_pkcs11_session(str(source.module_path), token_criteria=TokenCriteria(label=source.token_label),
                                   user_pin=pin.decode("utf-8"))  # fmt: skip

    try:
        try:
            session = open_session()
        except PKCS11Error as exc:
            if "No token matching" not in str(exc):
                raise
            # A token put back in: some modules (SoftHSM2) list tokens only when initialised.
            # Initialise the module again and look once more.
            import pkcs11

            pkcs11.lib(str(source.module_path)).reinitialize()
            session = open_session()
    except (PKCS11Error, OSError, RuntimeError) as exc:
        raise KeySourceError(f"cannot open PKCS#11 token {source.token_label!r}: {exc!r}") from exc
    class TokenSigner(ReusedSigningCertificate, PKCS11Signer):  # here: pyhanko.sign.pkcs11 is optional
        pass

    signer = TokenSigner(
        session,
        key_label=source.key_label,
        cert_label=source.cert_label or source.key_label,
        ca_chain=chain,
        embed_roots=False,
    )
    try:
        cert = signer.signing_cert  # loads key and certificate now, so errors surface here
    except Exception as exc:
        session.close()
        raise KeySourceError(f"key/certificate {source.key_label!r} not found on token: {exc}") from exc
    # Hash here, sign the digest with plain CKM_ECDSA: every token has it, while the
    # combined CKM_ECDSA_SHA256 is missing from SoftHSM2 and many HSMs.
    signer.use_raw_mechanism = cert.public_key.algorithm == "ec"
    return signer


def _cached_signer(key, cert: asn1_x509.Certificate, chain: list) -> Signer:
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise KeySourceError(f"unsupported key type {type(key).__name__}; use ECDSA or RSA")
    store = SimpleCertificateStore.from_certs([cert, *chain])
    return CachedKeySigner(cert, key, store)


def _read_secret(source: KeySource, environ: Mapping[str, str]) -> bytes | None:
    if not source.secret_env:
        return None
    value = environ.get(source.secret_env)
    if value is None:
        raise KeySourceError(f"environment variable {source.secret_env} (key secret) is not set")
    return value.encode("utf-8")


def _read_chain(path: Path | None) -> list:
    if path is None:
        return []
    try:
        return list(load_certs_from_pemder_data(_read(path)))
    except ValueError as exc:
        raise KeySourceError(f"cannot read certificate chain {path}: {exc}") from exc


def _pem_cert_der(data: bytes) -> bytes:
    certs = list(load_certs_from_pemder_data(data))
    if not certs:
        raise ValueError("no certificate found")
    return certs[0].dump()


def _read(path: Path | None) -> bytes:
    if path is None:
        raise KeySourceError("key source is missing a file path")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeySourceError(f"cannot read {path}: {exc.strerror}") from exc


def _opt_path(path) -> Path | None:
    return None if path is None else Path(path)
