"""Certificate numbers, GB/T 36904-style identifiers and their check character.

Numbers follow a configurable pattern; the default reads like Anhui's
(``9`` + province + year + committee + sequence; a *convention*, see
DOMAIN.md). Identifiers look like GB/T 36904 e-licence identifiers and end
with an ISO/IEC 7064 MOD 37,36 check character.
"""

from __future__ import annotations

import string

ALPHABET = string.digits + string.ascii_uppercase  # 36 characters, values 0..35
DEFAULT_NUMBER_PATTERN = "9{province}{year}{committee}{seq:06d}"
IDENTIFIER_PREFIX = "1.2.156.3005.2"


class PatternError(ValueError):
    """The configured number pattern cannot be used."""


def iso7064_mod37_36(data: str) -> str:
    """The check character of ISO/IEC 7064 MOD 37,36 (hybrid system, M = 36).

    Detects every single-character error and every transposition of
    adjacent characters. ``data`` may hold digits and letters; other
    characters (dots, hyphens) are not part of the checked string.
    """
    modulus = 36
    product = modulus
    for char in data.upper():
        if char not in ALPHABET:
            continue
        total = (product + ALPHABET.index(char)) % modulus or modulus
        product = (2 * total) % (modulus + 1)
    return ALPHABET[(modulus + 1 - product) % modulus]


def check_iso7064_mod37_36(data_with_check: str) -> bool:
    """True when the last character is the right check character for the rest."""
    data_with_check = data_with_check.upper()
    return bool(data_with_check) and iso7064_mod37_36(data_with_check[:-1]) == data_with_check[-1]


def format_number(pattern: str, *, province: str, year: int, committee: str, seq: int) -> str:
    """Fill the number pattern; fields: province, year, committee, seq (format specs allowed)."""
    try:
        return pattern.format(province=province, year=year, committee=committee, seq=seq)
    except (KeyError, IndexError, ValueError) as exc:
        raise PatternError(f"certificate number pattern {pattern!r} is invalid: {exc}") from None


def validate_pattern(pattern: str) -> None:
    """Refuse a pattern that would not give distinct numbers for distinct sequences."""
    first = format_number(pattern, province="42", year=2024, committee="420001", seq=1)
    second = format_number(pattern, province="42", year=2024, committee="420001", seq=2)
    if first == second or "{seq" not in pattern:
        raise PatternError(f"certificate number pattern {pattern!r} must contain the sequence {{seq}}")


def province_of(committee_code: str) -> str:
    """The 2-digit province code: the first two digits of the committee's code (GB/T 2260)."""
    digits = "".join(ch for ch in committee_code if ch.isdigit())
    return (digits + "00")[:2]


def make_identifier(*, type_code: str, issuer_uscc: str, serial: str, version: int) -> str:
    """``1.2.156.3005.2.{type}.{issuer USCC}.{serial}.{version:03d}.{check}``."""
    body = f"{IDENTIFIER_PREFIX}.{type_code}.{issuer_uscc.upper()}.{serial}.{version:03d}"
    return f"{body}.{iso7064_mod37_36(body)}"


def check_identifier(identifier: str) -> bool:
    body, _, check = identifier.rpartition(".")
    return len(check) == 1 and iso7064_mod37_36(body) == check.upper()


def longest_number(pattern: str, committee_code_chars: int) -> str:
    """The longest number ``pattern`` gives: a committee code of ``committee_code_chars``
    characters and the largest sequence the pattern's format allows (or a million)."""
    return format_number(pattern, province="99", year=9999, committee="W" * committee_code_chars, seq=999_999_999)
