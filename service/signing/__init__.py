"""The pure signing core: signers from key bytes, PAdES sealing, validation, the
development PKI and TSA (in memory). Key files, tokens, the PKI's folder and a TSA over
HTTP are the edge's (:mod:`service.sealing`).

Names are re-exported lazily (PEP 562) so that ``import service.signing.errors`` (for the
HTTP error mapping) does not load pyHanko; nothing is built at import time.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # sealing
    "SealField": "seal",
    "SealRequest": "seal",
    "add_seal_fields": "seal",
    "seal_pdf": "seal",
    "async_seal_pdf": "seal",
    "seal_certificate": "seal",
    "async_seal_certificate": "seal",
    "add_archive_timestamp": "seal",
    "async_add_archive_timestamp": "seal",
    "estimate_reserved": "seal",
    "build_seal_style": "appearance",
    # keys and time
    "signer_from_pem_bytes": "keys",
    "signer_from_pkcs12_bytes": "keys",
    "close_signer": "keys",
    "build_dev_timestamper": "tsa",
    "timestamper_time": "tsa",
    # trust and validation
    "TrustConfig": "trust",
    "trust_from_dev_pki": "trust",
    "build_validation_context": "trust",
    "validate_pdf": "validate",
    "async_validate_pdf": "validate",
    "ValidationReport": "report",
    "SealReport": "report",
    # development PKI
    "DevPKI": "devpki",
    "Org": "devpki",
    "generate_dev_pki": "devpki",
    "add_seal": "devpki",
    "revoke_seal": "devpki",
    "issue_crls": "devpki",
    # pyHanko's faster hex-string reader and its quiet verdict logs, once, at start-up
    "install_pyhanko_patches": "patches",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
