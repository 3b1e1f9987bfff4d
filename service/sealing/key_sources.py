"""Where a seal's key lives, and opening it: key files, the environment that holds their
secrets, PKCS#11 tokens. The edge around :mod:`service.signing.keys`, which makes the
signer from the bytes read here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyhanko.sign.signers.pdf_cms import Signer

from service.signing.attributes import ReusedSigningCertificate
from service.signing.errors import KeySourceError
from service.signing.keys import certificates_from_pem, signer_from_pem, signer_from_pkcs12_bytes

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
            "pkcs11",
            module_path=Path(module_path),
            token_label=token_label,
            key_label=key_label,
            cert_label=cert_label,
            secret_env=pin_env,
            chain_path=_opt_path(chain_path),
        )


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


def _load_pem(source: KeySource, secret: bytes | None, chain: list) -> Signer:
    return signer_from_pem(_read(source.key_path), _read(source.cert_path), secret, chain)


def _load_pkcs12(source: KeySource, secret: bytes | None, chain: list) -> Signer:
    return signer_from_pkcs12_bytes(_read(source.key_path), secret, chain, name=str(source.key_path))


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
        return open_pkcs11_session(
            str(source.module_path),
            token_criteria=TokenCriteria(label=source.token_label),
            user_pin=pin.decode("utf-8"),
        )

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
        return certificates_from_pem(_read(path))
    except ValueError as exc:
        raise KeySourceError(f"cannot read certificate chain {path}: {exc}") from exc


def _read(path: Path | None) -> bytes:
    if path is None:
        raise KeySourceError("key source is missing a file path")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeySourceError(f"cannot read {path}: {exc.strerror}") from exc


def _opt_path(path) -> Path | None:
    return None if path is None else Path(path)
