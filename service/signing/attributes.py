"""The signing-certificate attribute of a seal, built once per key instead of per seal.

pyHanko builds every signed attribute afresh for each signature through asn1crypto. The
ESS signing-certificate-v2 attribute (the signer certificate's hash, issuer and serial)
is the costly one: building it and serialising the structures that then contain it took
about half of a two-seal certificate's sealing time (≈ 109 → 56 ms per certificate on
the development keys). Its value depends on the signing certificate alone, so it is built
once per signer and handed out as parsed DER, which asn1crypto copies without
re-serialising. The attribute's bytes are the same either way.
"""

from __future__ import annotations

from asn1crypto import cms
from pyhanko.sign.attributes import CMSAttributeProvider, SigningCertificateV2Provider
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute


class _PrebuiltAttribute(CMSAttributeProvider):
    attribute_type = "signing_certificate_v2"

    def __init__(self, der: bytes):
        self._der = der

    async def get_attribute(self, dry_run: bool = False) -> cms.CMSAttribute:
        return cms.CMSAttribute.load(self._der)


class ReusedSigningCertificate:
    """Mixin for a pyHanko ``Signer``: its signing-certificate-v2 attribute, built once.

    Overrides ``Signer._signed_attr_providers``, an internal of the pinned pyHanko;
    ``tests/test_signing.py`` checks that the override still takes effect.
    """

    _signing_certificate_der: bytes | None = None

    def _signed_attr_providers(self, *args, **kwargs):
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if type(provider) is SigningCertificateV2Provider:
                yield _PrebuiltAttribute(self._signing_certificate_attribute(provider))
            else:
                yield provider

    def _signing_certificate_attribute(self, provider: SigningCertificateV2Provider) -> bytes:
        if self._signing_certificate_der is None:
            value = as_signing_certificate_v2(provider.signing_cert)
            self._signing_certificate_der = simple_cms_attribute(provider.attribute_type, value).dump()
        return self._signing_certificate_der
