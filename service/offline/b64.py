"""base64url without padding (RFC 7515 §2) and the QR text's base45 (RFC 9285)."""

from __future__ import annotations

import base64

import base45


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "=+/"):
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b45_encode(data: bytes) -> str:
    return base45.b45encode(data).decode("ascii")


def b45_decode(text: str) -> bytes:
    try:
        return base45.b45decode(text)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"not base45: {exc}") from None
