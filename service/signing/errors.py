"""Errors raised by the signing layer.

They stay independent of ``service.errors`` on purpose (the PDF/crypto core does not know
about HTTP); the API layer maps each ``code`` to a status in one place.
"""

from __future__ import annotations


class SigningError(Exception):
    """Base class; ``code`` is a stable English identifier for logs and JSON."""

    code = "signing_error"


class KeySourceError(SigningError):
    """A key or certificate could not be loaded (missing file, bad passphrase, token absent)."""

    code = "key_source"


class DevPKIError(SigningError):
    """The development PKI on disk is inconsistent or cannot be written."""

    code = "dev_pki"


class SealingError(SigningError):
    """pyHanko refused or failed to seal the document."""

    code = "sealing_failed"


class InvalidPdfError(SigningError):
    """The input is not a readable PDF (validation or sealing input)."""

    code = "invalid_pdf"


class EncryptedPdfError(InvalidPdfError):
    """The input is an encrypted PDF: its seals cannot be read without the password."""

    code = "encrypted_pdf"


class TimestampError(SigningError):
    """The time-stamping authority could not be reached or answered badly."""

    code = "timestamp_failed"
