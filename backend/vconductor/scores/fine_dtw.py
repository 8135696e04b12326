"""A DTW restricted to a band around a coarser path (docs/scores.md): each score frame i is matched only to the
audio frames lo[i]..hi[i] (non-decreasing bounds), so the cost and the accumulated cost are held for about
n x band cells, not n x m. Same steps as librosa's default ((1, 1), (0, 1), (1, 0), weight 1), the path
pinned to both corners.

Within a row the horizontal step makes D[i, j] = C[i, j] + min(A[j], D[i, j - 1]), A[j] the best of the row
above at j - 1 and j; unrolled, D[i, j] = S[j] + min over k <= j of (A[k] - S[k - 1]) with S the row's
cumulative cost: one cumulative minimum per row, no loop over cells.
"""

import numpy as np

CHUNK_ROWS = 256  # score frames whose cost is computed together


def banded_path(cost_rows, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The DTW path (k, 2) of (score frame, audio frame), increasing, within the band [lo[i], hi[i]) of each
    score frame. `cost_rows(first, last, col_lo, col_hi)`: the cost of score frames first..last-1 against
    audio frames col_lo..col_hi-1. lo[0] must be 0, hi[-1] the audio's length; lo and hi non-decreasing."""
    n = len(lo)
    width = int((hi - lo).max())
    total = np.full((n, width), np.inf)
    previous, previous_lo = None, 0
    for first in range(0, n, CHUNK_ROWS):
        last = min(n, first + CHUNK_ROWS)
        col_lo, col_hi = int(lo[first]), int(hi[last - 1])
        block = cost_rows(first, last, col_lo, col_hi)
        for i in range(first, last):
            row = block[i - first, lo[i] - col_lo : hi[i] - col_lo]
            above = _from_above(previous, previous_lo, int(lo[i]), len(row))
            if previous is None:
                above[0] = 0.0  # the path starts at (0, 0)
            cumulative = np.cumsum(row)
            current = cumulative + np.minimum.accumulate(above - (cumulative - row))
            total[i, : len(row)] = current
            previous, previous_lo = current, int(lo[i])
    return _backtrack(total, lo)


def _from_above(previous: np.ndarray | None, previous_lo: int, lo: int, length: int) -> np.ndarray:
    """min(D[i - 1, j - 1], D[i - 1, j]) for j in lo..lo + length - 1 (inf outside the band above)."""
    above = np.full(length, np.inf)
    if previous is None:
        return above
    # the row above as an array over columns previous_lo - 1 .. previous_lo + len(previous), inf padded
    padded = np.r_[np.inf, previous, np.inf]
    columns = np.arange(lo, lo + length) - previous_lo + 1  # index of D[i - 1, j] in padded
    same = padded[np.clip(columns, 0, len(padded) - 1)]
    left = padded[np.clip(columns - 1, 0, len(padded) - 1)]
    outside = (columns < 0) | (columns > len(padded) - 1)
    above = np.minimum(same, left)
    above[outside] = np.inf
    return above


def _backtrack(total: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The path from the last cell of the last row back to (0, 0), by the cheapest predecessor."""

    def at(i: int, j: int) -> float:
        k = j - int(lo[i])
        return total[i, k] if 0 <= k < total.shape[1] else np.inf

    i = len(lo) - 1
    j = int(lo[i]) + int(np.flatnonzero(np.isfinite(total[i]))[-1])  # the band's last column
    path = [(i, j)]
    while i > 0 or j > 0:
        options = [(at(i - 1, j - 1), i - 1, j - 1), (at(i - 1, j), i - 1, j), (at(i, j - 1), i, j - 1)]
        options = [o for o in options if o[1] >= 0 and o[2] >= 0]
        _, i, j = min(options, key=lambda o: o[0])
        path.append((i, j))
    return np.array(path[::-1])


def band_bounds(centre: np.ndarray, reach: int, num_audio: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) around each score frame's audio frame `centre` (non-decreasing), `reach` frames each side,
    opened to the corners and made contiguous (each row's band meets the next's)."""
    centre = np.maximum.accumulate(np.round(centre).astype(int))
    lo = np.clip(centre - reach, 0, num_audio - 1)
    hi = np.clip(centre + reach + 1, 1, num_audio)
    lo[0], hi[-1] = 0, num_audio
    hi = np.maximum.accumulate(np.maximum(hi, lo + 1))
    lo[1:] = np.minimum(lo[1:], hi[:-1])  # a row starts no later than just after the row above ends
    return lo, hi
