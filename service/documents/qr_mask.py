"""qrcode's choice of mask, made at once over the eight candidates.

qrcode picks the mask of lowest penalty by laying the data out eight times in pure Python
and scoring each layout (``QRCode.best_mask_pattern``): about 60 ms of the ~65 ms it takes
to encode a certificate's URL with its offline payload (version 13), the largest single
cost of an issuance. Here the data is laid out once (by qrcode), the eight masked symbols
are derived from it with numpy, and each is scored by ISO/IEC 18004's four rules exactly as
``qrcode.util.lost_point`` scores them; the symbol itself is still built by qrcode, with
the mask chosen. ``tests/test_qr.py`` checks the choice against qrcode's own on many texts.
"""

from __future__ import annotations

import numpy as np
import qrcode

# ISO/IEC 18004 § 7.8.2, the mask conditions, as qrcode.util.mask_func has them.
_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
)
# Rule 3: a finder-like 1:1:3:1:1 run with four light modules on one side.
_FINDER_LIKE = (
    np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
    np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool),
)


class QuickMaskQRCode(qrcode.QRCode):
    """A ``qrcode.QRCode`` whose ``make()`` chooses its mask in one layout."""

    _blank: list[list[bool | None]] | None = None

    def map_data(self, data, mask_pattern):
        self._blank = [row[:] for row in self.modules]  # None: a module the data fills
        super().map_data(data, mask_pattern)

    def best_mask_pattern(self) -> int:
        self.makeImpl(True, 0)  # the data laid out once, under mask 0; format bits light
        assert self._blank is not None
        n = self.modules_count
        is_data = np.array([[cell is None for cell in row] for row in self._blank])
        laid_out = np.array(self.modules, dtype=bool)
        rows, cols = np.indices((n, n))
        unmasked = laid_out ^ (_MASKS[0](rows, cols) & is_data)
        scores = [penalty(unmasked ^ (mask(rows, cols) & is_data)) for mask in _MASKS]
        return int(np.argmin(scores))  # the first of the lowest, as qrcode takes it


def penalty(symbol: np.ndarray) -> int:
    """``qrcode.util.lost_point`` of a square boolean symbol (dark True)."""
    return _runs(symbol) + _runs(symbol.T) + _blocks(symbol) + _finders(symbol) + _finders(symbol.T) + _balance(symbol)


def _runs(symbol: np.ndarray) -> int:
    """Rule 1, along rows: each run of five or more of one colour costs its length − 2."""
    n = symbol.shape[1]
    edges = np.ones((symbol.shape[0], n + 1), dtype=bool)
    edges[:, 1:n] = symbol[:, 1:] != symbol[:, :-1]
    starts = np.flatnonzero(edges)
    lengths = np.diff(starts)
    lengths = lengths[lengths >= 5]  # the step from one row's end to the next row's start is 1
    return int((lengths - 2).sum())


def _blocks(symbol: np.ndarray) -> int:
    """Rule 2: 3 for each 2 × 2 block of one colour (overlapping blocks each count)."""
    top, bottom = symbol[:-1], symbol[1:]
    same = (top[:, :-1] == top[:, 1:]) & (top[:, 1:] == bottom[:, 1:]) & (bottom[:, :-1] == bottom[:, 1:])
    return 3 * int(same.sum())


def _finders(symbol: np.ndarray) -> int:
    """Rule 3, along rows: 40 for each window of 11 that reads as one of the two patterns."""
    n = symbol.shape[1]
    if n < 11:
        return 0
    count = 0
    for pattern in _FINDER_LIKE:
        match = np.ones((symbol.shape[0], n - 10), dtype=bool)
        for offset, dark in enumerate(pattern):
            match &= symbol[:, offset : offset + n - 10] == dark
        count += int(match.sum())
    return 40 * count


def _balance(symbol: np.ndarray) -> int:
    """Rule 4: 10 for each 5 % the share of dark modules departs from half (qrcode's
    arithmetic, floats included, so that a share on a boundary rates the same)."""
    percent = float(int(symbol.sum())) / (symbol.shape[0] ** 2)
    return int(abs(percent * 100 - 50) / 5) * 10
