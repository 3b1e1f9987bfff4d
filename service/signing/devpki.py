"""Development PKI: root CA, seal CA, one seal certificate per organisation, a TSA, CRLs.

Everything here is pure (bytes in, bytes out, the clock is a parameter); writing the
material to ``keys/`` lives in :mod:`service.sealing.devpki_store`.  Every name carries
"开发测试 DEVELOPMENT ONLY" so that a development seal can never pass for a real one.

The CRL distribution points point at ``dev-pki.invalid`` (RFC 6761: never resolves), so
nothing tries to fetch them; pyHanko is handed the CRLs directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .devpki_sm2 import Sm2DevPKI, add_sm2_seal, generate_sm2_pki
from .errors import DevPKIError

DEV_LABEL = "开发测试 DEVELOPMENT ONLY"
CRL_BASE_URL = "http://dev-pki.invalid/"
ROOT_YEARS = 20
CA_YEARS = 10
LEAF_YEARS = 5
# Long enough that a developer's PKI does not go stale between runs; ensure_dev_pki
# re-issues both CRLs on every start anyway.
CRL_DAYS = 30
ROLES = ("committee", "issuer")


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    role: str


@dataclass(frozen=True)
class CertKey:
    """A certificate with its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime


@dataclass(frozen=True)
class DevPKI:
    root: CertKey
    seal_ca: CertKey
    tsa: CertKey
    seals: dict[str, CertKey]  # by organisation code
    orgs: dict[str, Org]
    root_crl_der: bytes
    seal_ca_crl_der: bytes
    revoked: tuple[Revocation, ...] = field(default=())
    # GB/T 38540 seals: every organisation has an SM2 seal beside its ECDSA one
    sm2: Sm2DevPKI | None = None

    @property
    def crls_der(self) -> tuple[bytes, bytes]:
        return (self.root_crl_der, self.seal_ca_crl_der)

    def seal(self, code: str) -> CertKey:
        try:
            return self.seals[code]
        except KeyError:
            raise DevPKIError(f"no development seal for organisation {code!r}") from None


def as_orgs(orgs: Iterable[Org | tuple[str, str, str]]) -> list[Org]:
    """Accept ``(code, name, role)`` tuples as well as :class:`Org`; check the roles."""
    result = [o if isinstance(o, Org) else Org(*o) for o in orgs]
    for org in result:
        if org.role not in ROLES:
            raise DevPKIError(f"organisation {org.code}: role must be one of {ROLES}, not {org.role!r}")
        if not org.code or not org.name:
            raise DevPKIError("organisation code and name must not be empty")
    return result


def generate_dev_pki(orgs: Iterable[Org | tuple[str, str, str]], now: datetime) -> DevPKI:
    """Create a fresh development PKI valid from ``now`` (root 20 y, CA 10 y, leaves 5 y)."""
    org_list = as_orgs(orgs)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"职称电子证书根CA {DEV_LABEL}", "职称电子证书开发PKI")
    root_cert = (
        _builder(root_name, root_name, root_key.public_key(), now, _years(now, ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    root = _pack(root_cert, root_key)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"职称电子印章CA {DEV_LABEL}", "职称电子证书开发PKI")
    ca_cert = (
        _issued_builder(root, ca_name, ca_key.public_key(), now, _years(now, CA_YEARS), "root.crl")
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    seal_ca = _pack(ca_cert, ca_key)

    # RSA because pyHanko's DummyTimeStamper (the in-process dev TSA) only signs with RSA.
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_name = _name(f"职称开发时间戳服务 {DEV_LABEL}", "职称电子证书开发PKI")
    tsa_cert = (
        _issued_builder(root, tsa_name, tsa_key.public_key(), now, _years(now, LEAF_YEARS), "root.crl")
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    pki = DevPKI(
        root=root,
        seal_ca=seal_ca,
        tsa=_pack(tsa_cert, tsa_key),
        seals={},
        orgs={},
        root_crl_der=b"",
        seal_ca_crl_der=b"",
        sm2=generate_sm2_pki(now),
    )
    for org in org_list:
        pki = add_seal(pki, org, now)
    return issue_crls(pki, now)


def add_seal(
    pki: DevPKI,
    org: Org | tuple[str, str, str],
    now: datetime,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> DevPKI:
    """Issue a seal certificate for ``org`` from the seal CA (replacing any earlier one).

    ``not_before``/``not_after`` exist so tests can make an already-expired seal.
    CRLs are not re-issued here: call :func:`issue_crls` when done adding.
    """
    (org,) = as_orgs([org])
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, seal_common_name(org.name)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_LABEL),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, org.code[:64]),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        ]
    )
    start = not_before or now
    end = not_after or _years(now, LEAF_YEARS)
    cert = (
        _issued_builder(pki.seal_ca, subject, key.public_key(), start, end, "seal-ca.crl")
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(), critical=True)
        .sign(_load_key(pki.seal_ca), hashes.SHA256())
    )
    sm2 = add_sm2_seal(pki.sm2 or generate_sm2_pki(now), org.code, org.name, start, not_after=end)
    return replace(
        pki,
        seals={**pki.seals, org.code: _pack(cert, key)},
        orgs={**pki.orgs, org.code: org},
        sm2=sm2,
    )


def seal_common_name(name: str) -> str:
    """The organisation's name cut to the 64 *bytes* of UTF-8 that ``cryptography`` allows
    in a common name (ub-common-name): a 22+ character Chinese name does not fit, and
    the full name stays in the organisation attribute, which validation reports."""
    return name.encode("utf-8")[:64].decode("utf-8", "ignore")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot stand in a seal certificate's subject, or None. Validators
    compare X.509 names after RFC 4518 string preparation, whose tables are Unicode 3.2's:
    a code point unassigned there (or a prohibited one) makes every certificate naming the
    organisation unreadable to them (asn1crypto refuses it; pyHanko cannot even load the
    key's certificate). Asked before an organisation is added, not when its key is built."""
    from asn1crypto import x509 as asn1_x509

    for char in dict.fromkeys(name):
        try:
            asn1_x509.Name.build({"common_name": char}).hashable  # noqa: B018 - runs the preparation
        except ValueError:
            return f"U+{ord(char):04X}"
    return None


def revoke_seal(pki: DevPKI, code: str, revoked_at: datetime, now: datetime | None = None) -> DevPKI:
    """Put the seal certificate of ``code`` on the seal CA's CRL (re-issued at ``now``)."""
    serial = pki.seal(code).cert.serial_number
    kept = tuple(r for r in pki.revoked if r.serial != serial)
    pki = replace(pki, revoked=kept + (Revocation(serial, revoked_at),))
    return issue_crls(pki, now or revoked_at)


def issue_crls(pki: DevPKI, now: datetime) -> DevPKI:
    """Re-issue both CRLs at ``now``; the seal CA's lists ``pki.revoked``."""
    return replace(
        pki,
        root_crl_der=_crl(pki.root, (), now),
        seal_ca_crl_der=_crl(pki.seal_ca, pki.revoked, now),
    )


def read_revocations(crl_der: bytes) -> tuple[Revocation, ...]:
    """Revoked entries of an existing CRL, so a re-issued CRL keeps them."""
    crl = x509.load_der_x509_crl(crl_der)
    return tuple(Revocation(r.serial_number, r.revocation_date_utc) for r in crl)


def _crl(issuer: CertKey, revoked: Iterable[Revocation], now: datetime) -> bytes:
    ca_cert = issuer.cert
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(_issuer_key(ca_cert)), critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    crl = builder.sign(_load_key(issuer), hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_LABEL),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        ]
    )


def _builder(subject, issuer, public_key, start: datetime, end: datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _issued_builder(issuer: CertKey, subject, public_key, start, end, crl_file: str) -> x509.CertificateBuilder:
    issuer_cert = issuer.cert
    dp = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(CRL_BASE_URL + crl_file)],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    return (
        _builder(subject, issuer_cert.subject, public_key, start, end)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(_issuer_key(issuer_cert)), critical=False)
        .add_extension(x509.CRLDistributionPoints([dp]), critical=False)
    )


def _issuer_key(cert: x509.Certificate) -> CertificateIssuerPublicKeyTypes:
    # public_key() is typed as any key a certificate can carry (X25519 and DH among them);
    # the development CAs are made here, with keys that sign.
    return cast(CertificateIssuerPublicKeyTypes, cert.public_key())


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_key_usage() -> x509.KeyUsage:
    # content_commitment is nonRepudiation; pyHanko requires it of signers by default.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _years(start: datetime, years: int) -> datetime:
    return start + timedelta(days=365 * years + years // 4)


def _pack(cert: x509.Certificate, key) -> CertKey:
    return CertKey(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _load_key(pair: CertKey):
    return serialization.load_pem_private_key(pair.key_pem, password=None)
