"""The compiled kernels' common parts: the decorator, and numpy's own summation order.

Week-by-week work on the account pools runs in numba-compiled loops (issue 9: speed), written to give
bit for bit the numbers of the numpy expressions they replace, so every stored result reproduces:

- element-wise arithmetic is IEEE arithmetic in both (numba does not fuse a * b + c, fastmath is off);
- ``exp``, ``log1p``, ``expit``, ``ndtri`` and the market's beta draws stay numpy's and scipy's,
  called on whole arrays between kernels (numpy's vectorised ``exp`` rounds differently from the
  C library's in a few percent of values: ``benchmarks/compiled_probe.py``);
- a sum is added in numpy's order: :func:`pairwise_sum` for ``np.sum`` and ``mean``, row order for
  ``np.bincount`` and ``np.cumsum``.

Division by zero gives inf or NaN as in numpy (``error_model="numpy"``), not an exception.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: the decorator of every kernel: compiled once per machine (cached beside the source), numpy's error model
kernel = njit(cache=True, error_model="numpy")

_BLOCK = 128  # numpy's PW_BLOCKSIZE


@kernel
def _block(a, lo, n):  # noqa: ANN001, ANN202
    """numpy's sum of ``a[lo:lo + n]`` for n <= 128: eight interleaved partial sums, then the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i, whole = 8, n - n % 8
    while i < whole:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@kernel
def pairwise_sum(a):  # noqa: ANN001, ANN201
    """``np.sum(a)`` of a contiguous 1-d float64 array, bit for bit: numpy's pairwise summation."""
    # numpy halves a longer array (at a multiple of 8) and adds the halves' sums, recursively; the
    # same tree walked with a stack (a cached numba function must not call itself)
    segments = np.empty((128, 3), dtype=np.int64)  # (start, length, halves done), depth <= 64
    values = np.empty(128)
    top, filled = 0, 0
    segments[0, 0], segments[0, 1], segments[0, 2] = 0, a.shape[0], 0
    while top >= 0:
        lo, n, split = segments[top, 0], segments[top, 1], segments[top, 2]
        if n <= _BLOCK:
            values[filled] = _block(a, lo, n)
            filled += 1
            top -= 1
        elif split:  # both halves summed: replace them by their sum
            values[filled - 2] = values[filled - 2] + values[filled - 1]
            filled -= 1
            top -= 1
        else:
            half = n // 2
            half -= half % 8
            segments[top, 2] = 1
            segments[top + 1, 0], segments[top + 1, 1], segments[top + 1, 2] = lo + half, n - half, 0
            segments[top + 2, 0], segments[top + 2, 1], segments[top + 2, 2] = lo, half, 0
            top += 2
    return 0.0 + values[0]
