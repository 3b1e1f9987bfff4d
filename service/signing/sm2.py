"""SM2 keys, signatures and certificates (GB/T 32918, GM/T 0009, GM/T 0015), from bytes.

Signatures are SM2 with SM3 over ``SM3(Z ‖ M)``, where Z is the signer's identity hash of
GM/T 0009-2012 §5.5 with the default signer id ``1234567812345678``; the value is DER
``SEQUENCE {r, s}`` (GM/T 0009 §7.3). Tongsuo computes Z itself when it is handed an SM2
key (its default distinguishing id is the standard one): ``tests/signing/test_sm2.py``
checks every kind of signature made here with ``openssl pkeyutl -verify -rawin -digest sm3
-pkeyopt distid:1234567812345678``, which refuses them under any other id.

Why Tongsuo (``tongsuopy``): measured on this machine (``bench/results/sm2.md``) it signs
about 2,000 and verifies about 2,400 times a second; the pure-Python libraries manage
60-150, which would make two seals per certificate cost more than the whole PDF.
``cryptography`` has SM3 but no SM2 curve.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from tongsuopy.crypto import exceptions as tongsuo_exceptions
from tongsuopy.crypto import hashes as tongsuo_hashes
from tongsuopy.crypto import serialization
from tongsuopy.crypto.asymciphers import ec

from .errors import KeySourceError

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM3_OID = "1.2.156.10197.1.401"
DEFAULT_SIGNER_ID = b"1234567812345678"
_ALGORITHM = ec.ECDSA(tongsuo_hashes.SM3())  # with an SM2 key: SM2 over SM3(Z ‖ M)


def sm3(data: bytes) -> bytes:
    """The SM3 digest of ``data`` (GB/T 32905)."""
    digest = tongsuo_hashes.Hash(tongsuo_hashes.SM3())
    digest.update(data)
    return digest.finalize()


@dataclass(frozen=True)
class Sm2Signer:
    """An SM2 private key parsed once, with its certificate (DER). Build with
    :func:`sm2_signer_from_pem`; keep it for the life of the worker."""

    key: ec.EllipticCurvePrivateKey
    cert_der: bytes

    def sign(self, data: bytes) -> bytes:
        """SM2 signature of ``data`` (DER ``SEQUENCE {r, s}``), Z with the default signer id."""
        return self.key.sign(data, _ALGORITHM)

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert_der)


def load_sm2_private_key(key_pem: bytes, passphrase: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """An SM2 private key from PEM (PKCS#8 or SEC1); anything else is refused by name."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=passphrase)
    except tongsuo_exceptions.UnsupportedAlgorithm as exc:  # Tongsuo reads SM2 and little else
        raise KeySourceError(f"not an SM2 key ({exc}): GB/T 38540 seals need a key on the SM2 curve") from exc
    except (ValueError, TypeError) as exc:
        raise KeySourceError(f"cannot read SM2 key (wrong passphrase?): {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise KeySourceError("not an SM2 key: GB/T 38540 seals need a key on the SM2 curve")
    return key


def sm2_signer_from_pem(key_pem: bytes, cert_pem: bytes, passphrase: bytes | None = None) -> Sm2Signer:
    """An :class:`Sm2Signer` from a PEM key and its PEM (or DER) certificate."""
    key = load_sm2_private_key(key_pem, passphrase)
    cert_der = certificate_der(cert_pem)
    if public_point(cert_der) != public_point_of(key):
        raise KeySourceError("the SM2 certificate is not the key's: their public keys differ")
    return Sm2Signer(key=key, cert_der=cert_der)


def sm2_signer_from_pkcs12(data: bytes, passphrase: bytes | None = None) -> Sm2Signer:
    """An :class:`Sm2Signer` from a PKCS#12 file (.pfx/.p12) holding an SM2 key and its
    certificate, as the Chinese CAs hand them out.

    Neither ``cryptography`` (no SM2 curve) nor Tongsuo's Python API reads PKCS#12 with an
    SM2 key; Tongsuo's library does (``PKCS12_parse``, which also checks the file's MAC),
    reached here through the binding ``tongsuopy`` ships. Its legacy ciphers (RC2, 3DES:
    files made before OpenSSL 3) are read as well where the library was built with them."""
    from tongsuopy.backends.tongsuo.backend import backend  # the binding: no public PKCS#12 API

    lib, ffi = backend._lib, backend._ffi
    memory = backend._bytes_to_bio(data)
    p12 = lib.d2i_PKCS12_bio(memory.bio, ffi.NULL)
    if p12 == ffi.NULL:
        backend._consume_errors()
        raise KeySourceError("not a PKCS#12 file")
    p12 = ffi.gc(p12, lib.PKCS12_free)
    key_out = ffi.new("EVP_PKEY **")
    cert_out = ffi.new("X509 **")
    chain_out = ffi.new("Cryptography_STACK_OF_X509 **")
    password = ffi.new("char[]", passphrase) if passphrase else ffi.NULL
    if lib.PKCS12_parse(p12, password, key_out, cert_out, chain_out) != 1:
        backend._consume_errors()
        raise KeySourceError("cannot read the PKCS#12 file: wrong passphrase, or a cipher this build lacks")
    if chain_out[0] != ffi.NULL:
        lib.sk_X509_free(chain_out[0])  # the chain is the trust configuration's business
    if key_out[0] == ffi.NULL or cert_out[0] == ffi.NULL:
        for pointer, free in ((key_out[0], lib.EVP_PKEY_free), (cert_out[0], lib.X509_free)):
            if pointer != ffi.NULL:
                free(pointer)
        raise KeySourceError("the PKCS#12 file holds no key with its certificate")
    evp_pkey = ffi.gc(key_out[0], lib.EVP_PKEY_free)
    x509 = ffi.gc(cert_out[0], lib.X509_free)
    out = backend._create_mem_bio_gc()
    if lib.i2d_X509_bio(out, x509) != 1:
        backend._consume_errors()
        raise KeySourceError("cannot read the certificate in the PKCS#12 file")
    cert_der = backend._read_mem_bio(out)
    try:
        key = backend._evp_pkey_to_private_key(evp_pkey, False)
    except tongsuo_exceptions.UnsupportedAlgorithm as exc:  # a key on another curve, RSA…
        raise KeySourceError(f"the PKCS#12 key is not an SM2 key ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise KeySourceError("the PKCS#12 key is not an SM2 key: GB/T 38540 seals need a key on the SM2 curve")
    if public_point(cert_der) != public_point_of(key):
        raise KeySourceError("the certificate in the PKCS#12 file is not the key's: their public keys differ")
    return Sm2Signer(key=key, cert_der=cert_der)


def generate_sm2_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SM2())


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_point_of(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The uncompressed public point (``04 ‖ x ‖ y``) of a private key."""
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def public_point(cert_der: bytes) -> bytes:
    """The uncompressed public point of an SM2 certificate (ValueError if it is not one)."""
    info = asn1_x509.Certificate.load(cert_der)["tbs_certificate"]["subject_public_key_info"]
    params = info["algorithm"]["parameters"]
    if info["algorithm"]["algorithm"].native != "ec" or params.name != "named" or params.chosen.dotted != SM2_CURVE_OID:
        raise ValueError("the certificate's key is not an SM2 key")
    return bytes(info["public_key"])


def public_key_pem(point: bytes) -> bytes:
    """A SubjectPublicKeyInfo PEM of an SM2 public point (what ``openssl pkeyutl`` reads)."""
    der = _public_key_info(point).dump()
    return _pem("PUBLIC KEY", der)


def verify_sm2(point: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (DER r, s) is the SM2 signature of ``data`` by ``point``'s key."""
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), point)
        key.verify(signature, data, _ALGORITHM)
    except (ValueError, tongsuo_exceptions.InvalidSignature):
        return False
    return True


def certificate_der(data: bytes) -> bytes:
    """The first certificate of PEM (or DER) bytes."""
    if data.lstrip().startswith(b"-----BEGIN"):
        body = data.split(b"-----BEGIN CERTIFICATE-----", 1)[-1].split(b"-----END CERTIFICATE-----", 1)[0]
        try:
            data = base64.b64decode(b"".join(body.split()), validate=True)
        except ValueError as exc:
            raise KeySourceError(f"cannot read SM2 certificate: {exc}") from exc
    try:
        asn1_x509.Certificate.load(data).native  # noqa: B018 - parses the whole certificate now
    except ValueError as exc:
        raise KeySourceError(f"cannot read SM2 certificate: {exc}") from exc
    return data


def certificate_pem(der: bytes) -> bytes:
    return _pem("CERTIFICATE", der)


def verify_certificate_signature(cert_der: bytes, issuer_cert_der: bytes) -> bool:
    """Whether ``cert_der`` carries an SM2-with-SM3 signature by the issuer's key (and names it)."""
    cert = asn1_x509.Certificate.load(cert_der)
    issuer = asn1_x509.Certificate.load(issuer_cert_der)
    if cert["signature_algorithm"]["algorithm"].dotted != SM2_WITH_SM3_OID or cert.issuer != issuer.subject:
        return False
    return verify_sm2(public_point(issuer_cert_der), cert["tbs_certificate"].dump(), bytes(cert["signature_value"]))


@dataclass(frozen=True)
class CertificateRequest:
    """What an SM2 certificate says; ``issuer_name`` None: self-signed."""

    subject: dict
    point: bytes
    serial: int
    not_before: datetime
    not_after: datetime
    ca: bool
    issuer_name: asn1_x509.Name | None = None


def issue_sm2_certificate(request: CertificateRequest, issuer_key: ec.EllipticCurvePrivateKey) -> bytes:
    """An X.509 v3 certificate (DER) for an SM2 public key, signed SM2-with-SM3 (GM/T 0015)."""
    subject = asn1_x509.Name.build(request.subject, use_printable=False)
    algorithm = asn1_x509.SignedDigestAlgorithm({"algorithm": SM2_WITH_SM3_OID})
    usage = {"key_cert_sign", "crl_sign"} if request.ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": request.ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": sm3(request.point)[:20]},
    ]
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": request.serial,
            "signature": algorithm,
            "issuer": request.issuer_name or subject,
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": request.not_before}),
                "not_after": asn1_x509.Time({"general_time": request.not_after}),
            },
            "subject": subject,
            "subject_public_key_info": _public_key_info(request.point),
            "extensions": extensions,
        }
    )
    signature = issuer_key.sign(tbs.dump(), _ALGORITHM)
    cert = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )
    return cert.dump()


def _public_key_info(point: bytes) -> asn1_keys.PublicKeyInfo:
    curve = asn1_keys.ECDomainParameters(name="named", value=SM2_CURVE_OID)
    algorithm = asn1_keys.PublicKeyAlgorithm({"algorithm": "ec", "parameters": curve})
    return asn1_keys.PublicKeyInfo({"algorithm": algorithm, "public_key": point})


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"".join(
        [f"-----BEGIN {label}-----\n".encode(), *(line + b"\n" for line in lines), f"-----END {label}-----\n".encode()]
    )


__all__ = [
    "DEFAULT_SIGNER_ID",
    "SM2_WITH_SM3_OID",
    "SM3_OID",
    "CertificateRequest",
    "Sm2Signer",
    "issue_sm2_certificate",
    "load_sm2_private_key",
    "sm2_signer_from_pem",
    "sm3",
    "verify_sm2",
]
