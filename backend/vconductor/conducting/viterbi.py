"""The most likely state path of an HMM whose transitions are banded: a near-diagonal band over a constant floor.

The same path as librosa.sequence.viterbi with a uniform initial distribution, without its memory and its lock:
it keeps the emission log-probabilities and the running scores of every step (200 MB an hour of music for a tempo
path), and its compiled loop holds the GIL for seconds on long pieces, stalling the service's event loop. Here the
emissions arrive in chunks, only the back-pointers (uint16) are kept, and each step is a few numpy operations on
the band (O(states x band) instead of O(states^2)), so other threads run between steps (docs/conducting.md).
"""

from collections.abc import Iterable

import numpy as np

from ..progress import cancellation_point

_TINY = np.finfo(np.float64).tiny  # librosa's floor under every probability before its log


class BandedTransition:
    """log(transition + tiny) split into the band |from - to| <= width and the constant `floor` outside it.

    `width` is the smallest for which every entry outside the band is exactly one value; a matrix without such
    a floor gets the full width (exact, O(states^2) per step)."""

    def __init__(self, transition: np.ndarray):
        log_trans = np.log(np.asarray(transition, dtype=np.float64) + _TINY)
        states = len(log_trans)
        offset = np.abs(np.arange(states)[:, None] - np.arange(states)[None, :])
        width = states - 1
        for w in range(states - 2, -1, -1):
            outside = log_trans[offset > w]
            if not np.all(outside == outside[0]):
                break
            width = w
        self.states, self.width = states, width
        self.floor = float(log_trans[offset > width][0]) if width < states - 1 else -np.inf
        # band[to, m] = log_trans[to - width + m, to]; -inf where that origin is outside the states
        origin = np.arange(states)[:, None] - width + np.arange(2 * width + 1)[None, :]
        inside = (origin >= 0) & (origin < states)
        self.band = np.full(origin.shape, -np.inf)
        self.band[inside] = log_trans[origin[inside], np.nonzero(inside)[0]]


def viterbi_path(emission_chunks: Iterable[np.ndarray], transition: np.ndarray) -> np.ndarray:
    """State indices (steps,) of the most likely path through emission probabilities given as (steps, states)
    chunks, with `transition[from, to]` and a uniform start. Ties go to the lowest state, as in librosa."""
    step = _Step(BandedTransition(transition))
    value, pointers = None, []
    for chunk in emission_chunks:
        cancellation_point()
        log_emission = np.log(np.asarray(chunk, dtype=np.float64) + _TINY)
        pointer = np.zeros(log_emission.shape, dtype=np.uint16)
        for t, row in enumerate(log_emission):
            if value is None:
                value = row + np.log(1.0 / step.states + _TINY)
                continue
            best, pointer[t] = step(value)
            value = row + best
        pointers.append(pointer)
    if value is None:
        return np.zeros(0, dtype=int)
    return _backtrack(np.concatenate(pointers), int(np.argmax(value)))


class _Step:
    """One Viterbi step: for each state, max over origins of value[origin] + log_trans[origin, state] and the
    first origin reaching it; buffers are reused since the step runs once per window."""

    def __init__(self, banded: BandedTransition):
        self.banded, self.states, width = banded, banded.states, banded.width
        self.to = np.arange(self.states)
        self.padded = np.full(self.states + 2 * width, -np.inf)
        self.windows = np.lib.stride_tricks.sliding_window_view(self.padded, 2 * width + 1)
        self.scores = np.empty_like(banded.band)

    def __call__(self, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width, to = self.banded.width, self.to
        self.padded[width : width + self.states] = value
        np.add(self.windows, self.banded.band, out=self.scores)
        offset = self.scores.argmax(axis=1)
        best = self.scores[to, offset]
        origin = to - width + offset
        if width == self.states - 1:
            return best, origin
        # Outside the band every origin costs the same floor, so the best there is the highest value overall,
        # unless that lies inside the band, where the band already counted it at no less than the floor.
        top = int(np.argmax(value))
        far = value[top] + self.banded.floor
        # Ties go to the lowest origin: the far one when it lies below the band, the band's when above.
        far_wins = ((to > top + width) & (far >= best)) | ((to < top - width) & (far > best))
        return np.where(far_wins, far, best), np.where(far_wins, top, origin)


def _backtrack(pointers: np.ndarray, last: int) -> np.ndarray:
    path = np.empty(len(pointers), dtype=int)
    path[-1] = last
    for t in range(len(pointers) - 1, 0, -1):
        path[t - 1] = pointers[t, path[t]]
    return path
