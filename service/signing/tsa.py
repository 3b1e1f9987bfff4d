"""Timestamper factory: the in-process development TSA, or a real RFC 3161 TSA over HTTP.

Signing time always comes from here (:func:`timestamper_time`): a development TSA with a
fixed time gives deterministic documents and lets tests freeze the clock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from asn1crypto import cms, core
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.general import as_signing_certificate, get_pyca_cryptography_hash, simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper

from .errors import KeySourceError

log = logging.getLogger(__name__)


class DevTimeStamper(DummyTimeStamper):
    """pyHanko's ``DummyTimeStamper`` with the private key parsed once.

    The stock class re-parses its RSA key for every token (tens of milliseconds, twice per
    certificate); here the key object is kept.  Development and tests only.
    """

    def __init__(self, tsa_cert, tsa_key_pem: bytes, chain=(), fixed_dt: datetime | None = None):
        key = serialization.load_pem_private_key(tsa_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeySourceError("the development TSA key must be RSA (pyHanko's dummy TSA signs RSA only)")
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(
            tsa_cert=tsa_cert,
            tsa_key=asn1_keys.PrivateKeyInfo.load(der),
            certs_to_embed=list(chain),  # type: ignore[arg-type]  # pyHanko only iterates it: list(certs_to_embed or ())
            fixed_dt=fixed_dt,
        )
        self._private_key = key
        # constant per TSA: built once, and kept as parsed DER (asn1crypto re-serialises a
        # freshly built structure every time it is dumped: 7 → 2.6 ms per token)
        self._fixed_attrs = [
            cms.CMSAttribute.load(simple_cms_attribute("content_type", "tst_info").dump()),
            cms.CMSAttribute.load(simple_cms_attribute("signing_certificate", as_signing_certificate(tsa_cert)).dump()),
        ]

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        # Same signed attributes as DummyTimeStamper._sign_tst_info; only the key differs.
        md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        md.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                *self._fixed_attrs,
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("message_digest", md.finalize()),
            ]
        )
        signature = self._private_key.sign(
            signed_attrs.dump(), padding.PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs


def build_dev_timestamper(
    tsa_cert_pem: bytes,
    tsa_key_pem: bytes,
    chain_pem: bytes = b"",
    fixed_time: datetime | None = None,
) -> DevTimeStamper:
    """The development TSA, in process. ``fixed_time`` freezes its clock (tests).

    ``chain_pem``: intermediates to put in each token; leave the root out (validators
    bring their own, and every embedded byte costs parsing time later).
    """
    log.warning("using the DEVELOPMENT time-stamping authority: its tokens prove nothing")
    (cert,) = list(load_certs_from_pemder_data(tsa_cert_pem))[:1]
    chain = list(load_certs_from_pemder_data(chain_pem)) if chain_pem else []
    if fixed_time is not None and fixed_time.tzinfo is None:
        raise ValueError("fixed_time must be timezone-aware")
    return DevTimeStamper(cert, tsa_key_pem, chain=chain, fixed_dt=fixed_time)


def timestamper_time(timestamper: TimeStamper) -> datetime:
    """The signing time to write into a seal: the TSA's frozen clock if it has one, else now.

    The authoritative time of a PAdES seal is the one in its timestamp token; the claimed
    time (/M, signingTime) should agree with it, and must not read the wall clock in tests.
    """
    fixed = getattr(timestamper, "fixed_dt", None)
    return fixed if fixed is not None else datetime.now(UTC)
