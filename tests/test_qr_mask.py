"""The QR mask chosen in one layout (service.documents.qr_mask) is the one qrcode itself
chooses, on texts of every kind a certificate prints: the symbol is bit for bit qrcode's."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest
import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

from service.documents.qr_mask import QuickMaskQRCode, penalty

ALPHANUMERIC = string.ascii_uppercase + string.digits + " $%*+-./:"


def texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for index in range(count):
        url = "https://zc.example.gov.cn/v/" + "".join(rng.choices(string.ascii_letters + string.digits, k=22))
        if index % 2:  # with the offline payload, of every length a payload takes
            url += "#ZC1:" + "".join(rng.choices(ALPHANUMERIC, k=rng.randint(20, 600)))
        if index % 5 == 0:
            url = "证书查验 " + url
        out.append(url)
    return out


def built(cls, text: str):
    code = cls(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    return code


@pytest.mark.parametrize("seed", [1, 2])
def test_the_quick_choice_is_qrcodes_choice(seed):
    for text in texts(40, seed):
        ours, theirs = built(QuickMaskQRCode, text), built(qrcode.QRCode, text)
        assert ours.version == theirs.version
        assert ours.get_matrix() == theirs.get_matrix(), text


def test_the_penalty_is_qrcodes_lost_point_on_any_symbol():
    rng = np.random.default_rng(7)
    for n in (21, 25, 45, 77):
        for density in (0.1, 0.5, 0.9):
            symbol = rng.random((n, n)) < density
            assert penalty(symbol) == util.lost_point(symbol.tolist())
    striped = np.zeros((21, 21), dtype=bool)
    striped[:, ::2] = True
    assert penalty(striped) == util.lost_point(striped.tolist())
