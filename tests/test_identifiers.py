"""Certificate numbers and GB/T 36904-style identifiers with their ISO 7064 MOD 37,36 check character."""

from __future__ import annotations

import random

import pytest

from service.certificates.identifiers import (
    ALPHABET,
    DEFAULT_NUMBER_PATTERN,
    PatternError,
    check_identifier,
    check_iso7064_mod37_36,
    format_number,
    iso7064_mod37_36,
    make_identifier,
    province_of,
    validate_pattern,
)


def test_default_number_reads_like_anhuis():
    number = format_number(DEFAULT_NUMBER_PATTERN, province="34", year=2022, committee="000101", seq=1960)
    assert number == "9342022000101001960" and len(number) == 19
    assert province_of("420001") == "42" and province_of("HB-42") == "42"


def test_patterns_without_a_sequence_are_refused():
    validate_pattern(DEFAULT_NUMBER_PATTERN)
    for pattern in ("9{province}{year}{committee}", "{nope}{seq}", "{seq:zz}"):
        with pytest.raises(PatternError):
            validate_pattern(pattern)


def test_check_character_follows_the_hybrid_system():
    # Hand-worked: for "A" (value 10): P=36 → S=(36+10) mod 36 = 10 → P=20 mod 37 = 20;
    # check = (37 - 20) mod 36 = 17 → "H".
    assert iso7064_mod37_36("A") == "H"
    assert check_iso7064_mod37_36("AH") and not check_iso7064_mod37_36("AI")


def test_every_single_substitution_and_adjacent_transposition_is_caught():
    rng = random.Random(36)
    for _ in range(50):
        data = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(8, 30)))
        check = iso7064_mod37_36(data)
        for i, original in enumerate(data):
            for replacement in ALPHABET:
                if replacement != original:
                    assert iso7064_mod37_36(data[:i] + replacement + data[i + 1 :]) != check
        for i in range(len(data) - 1):
            if data[i] != data[i + 1]:
                swapped = data[:i] + data[i + 1] + data[i] + data[i + 2 :]
                assert iso7064_mod37_36(swapped) != check


def test_identifier_shape_and_check():
    identifier = make_identifier(
        type_code="ZCZS", issuer_uscc="11420000011043123x", serial="9422024420001000001", version=2
    )
    body, check = identifier.rsplit(".", 1)
    assert body == "1.2.156.3005.2.ZCZS.11420000011043123X.9422024420001000001.002"
    assert check_identifier(identifier)
    assert not check_identifier(body + "." + ("0" if check != "0" else "1"))
    assert not check_identifier(identifier.replace("0001000001", "0001000002"))
