"""A numpy port of librosa 0.11's dynamic-programming beat tracker (Ellis 2007), as `librosa.beat.beat_track`
runs it with a per-frame tempo, ``trim=False`` and frame units: the same beats, without librosa's numba
functions (one of which is compiled again in every process, seconds on a user's first run).

Each step does librosa's float64 operations in librosa's order, so the scores are bit for bit librosa's: the
Gaussians and the tempo penalties come from `math.exp` / `math.log` (the C library's, as numba's compiled code
calls), the local score sums each frame's window in librosa's order, and the dynamic programme takes, like
librosa's loop, the nearest of equally good predecessors."""

import math

import numpy as np

from ..progress import cancellation_point

LOCAL_SCORE_CELLS = 1 << 16  # frames x window taps per block of the local score (512 kB: stays in cache)


def beat_track(onset_envelope: np.ndarray, bpm, frame_rate: float, tightness: float) -> np.ndarray:
    """Beat frames (sorted int64 indices into `onset_envelope`) for the tempo `bpm` (a scalar or one value per
    frame), exactly as ``librosa.beat.beat_track(onset_envelope=..., bpm=..., sr=..., hop_length=...,
    tightness=..., trim=False)[1]`` with ``sr / hop_length == frame_rate``. Computed in float64 (librosa uses
    float32 when both inputs are float32)."""
    onset = np.asarray(onset_envelope)
    if onset.ndim != 1:
        raise ValueError(f"the onset envelope must be one-dimensional, got shape {onset.shape}")
    bpm = np.atleast_1d(np.asarray(bpm))
    if bpm.ndim != 1 or len(bpm) not in (1, len(onset)):
        raise ValueError(f"bpm must be a scalar or one value per onset frame, got shape {bpm.shape}")
    if np.any(bpm <= 0) or not tightness > 0:
        raise ValueError("bpm and tightness must be strictly positive")
    if len(onset) < 2 or not onset.any():
        return np.zeros(0, dtype=np.int64)  # the score leaves out frame 0 (librosa raises on one frame)
    frames_per_beat = np.broadcast_to(np.round(frame_rate * 60.0 / bpm), onset.shape)
    if frames_per_beat.min() < 2:
        raise ValueError("the tempo is too fast for the frame rate: a beat must span at least 2 frames")
    score = local_score(normalized_onsets(onset), frames_per_beat)
    if not np.any(score > 0):
        return np.zeros(0, dtype=np.int64)  # librosa reads past the array's end here
    backlink, cumulative = track_dp(score, frames_per_beat, tightness)
    beats = backtrack(backlink, last_beat(cumulative))
    first, last = np.flatnonzero(score > 0)[[0, -1]]  # trim=False still drops beats where the score is 0
    return beats[(beats >= first) & (beats <= last)]


def normalized_onsets(onset: np.ndarray) -> np.ndarray:
    """The envelope over its standard deviation, in its own dtype as librosa does it, then as float64."""
    floating = np.issubdtype(onset.dtype, np.floating)
    tiny = np.finfo(onset.dtype if floating else np.float32).tiny
    return (onset / (onset.std(ddof=1) + tiny)).astype(np.float64)


def gaussian_window(frames_per_beat: int) -> np.ndarray:
    """librosa's smoothing window for a beat of `frames_per_beat` frames: 2 x frames_per_beat + 1 taps."""
    f = float(frames_per_beat)
    scaled = [k * 32.0 / f for k in np.arange(-f, f + 1).tolist()]
    return np.array([math.exp(-0.5 * (t * t)) for t in scaled])


def local_score(onset: np.ndarray, frames_per_beat: np.ndarray) -> np.ndarray:
    """Each frame's onset strength smoothed by the Gaussian of its own frames per beat. As in librosa, the
    window's taps are summed in order from the latest frame back, and frame 0 of the envelope never counts."""
    n = len(onset)
    if n < 2:
        return np.zeros(n)
    fpb = frames_per_beat.astype(np.int64)
    widest = int(fpb.max())
    padded = np.zeros(n + 2 * widest)
    padded[widest + 1 : widest + n] = onset[1:]
    distinct, group = np.unique(fpb, return_inverse=True)
    weights = np.zeros((2 * widest + 1, len(distinct)))  # row k: the tap widest - k frames ahead
    for column, f in enumerate(distinct.tolist()):
        weights[widest - f : widest + f + 1, column] = gaussian_window(f)
    # (taps, frames) view: column r is frame r, row k its onset widest - k frames ahead (0 outside the envelope)
    taps = np.lib.stride_tricks.sliding_window_view(padded, 2 * widest + 1)[:, ::-1].T
    score = np.empty(n)
    rows = max(2, LOCAL_SCORE_CELLS // (2 * widest + 1))
    for a in range(0, n, rows):
        cancellation_point()
        a = min(a, n - 2)  # np.add.reduce over axis 0 adds in order only with 2+ columns
        b = min(n, a + rows)
        f, slowest = int(fpb[a:b].max()), int(fpb[a:b].min())
        used = slice(widest - f, widest + f + 1)
        products = np.empty((2 * f + 1, b - a))  # C order: the reduction below runs over rows, in order
        columns = group[a : a + 1] if slowest == f else group[a:b]  # one tempo: one column, broadcast
        np.multiply(taps[used, a:b], weights[used][:, columns], out=products)
        score[a:b] = np.add.reduce(products, axis=0)
    return score


def _penalty_table(frames_per_beat: np.ndarray, tightness: float, longest: int):
    """Per distinct frames per beat f: the tempo penalty of a predecessor o frames back in column o, for the
    predecessors librosa searches (round(f / 2) to 2f frames back), +inf elsewhere. Returns the table and each
    frame's row."""
    distinct, row_of_frame = np.unique(frames_per_beat, return_inverse=True)
    log_lag = np.array([0.0] + [math.log(lag) for lag in range(1, longest + 1)])
    table = np.full((len(distinct), longest + 1), np.inf)
    weight = float(np.float32(tightness))  # librosa's compiled loop takes the tightness as float32
    for row, f in enumerate(distinct.tolist()):
        lags = slice(int(np.round(f / 2)), 2 * int(f) + 1)
        table[row, lags] = weight * (log_lag[lags] - math.log(f)) ** 2
    return table, row_of_frame


CANCEL_EVERY_BLOCKS = 2048  # DP blocks between cancellation points (~0.1 s)


def track_dp(score: np.ndarray, frames_per_beat: np.ndarray, tightness: float):
    """librosa's dynamic programme: each frame's best predecessor (-1: none) and cumulative score.

    Frame i looks back round(f_i / 2) to 2 f_i frames, so a block of frames shorter than the nearest look-back
    of each of its frames depends only on frames before the block: each block is one numpy step."""
    n = len(score)
    fpb = frames_per_beat.astype(np.int64)
    nearest = np.round(frames_per_beat / 2).astype(np.int64)
    longest = 2 * int(fpb.max())
    table, row_of_frame = _penalty_table(frames_per_beat, tightness, longest)
    # The cumulative score backwards in time: frame i at n - 1 - i, then -inf for the frames before frame 0,
    # so that a row of the view below lists predecessors nearest first (argmax keeps the first maximum, as
    # librosa's loop keeps the nearest of equal predecessors).
    backwards = np.full(n + 2 * longest, -np.inf)
    lookback = np.lib.stride_tricks.sliding_window_view(backwards, longest + 1)
    pick = np.empty(n, dtype=np.int64)  # the best predecessor's column: lag - the block's nearest lag
    blocks = []  # (first frame, nearest lag) of each block
    run_end = np.repeat(*_runs(fpb))
    steps = np.arange(int(nearest.max()) + 1)
    lists = _ListWindow(run_end, fpb, nearest)  # Python ints: fast to read one at a time
    i = 0
    while i < n:
        if len(blocks) % CANCEL_EVERY_BLOCKS == 0:
            cancellation_point()
        run_end_i, f_i, near_i = lists.at(i)
        if run_end_i >= i + near_i:  # one tempo over the whole block
            size, near, far = min(near_i, n - i), near_i, 2 * f_i
            penalty = table[row_of_frame[i], near : far + 1]
        else:
            ahead = nearest[i : i + len(steps)]
            blocked = ahead <= steps[: len(ahead)]
            size = int(np.argmax(blocked)) if blocked.any() else len(ahead)
            near, far = int(nearest[i : i + size].min()), 2 * int(fpb[i : i + size].max())
            penalty = table[row_of_frame[i : i + size], near : far + 1]
        top = n - 1 - i + near  # the row of frame i
        candidates = np.empty((size, far - near + 1))
        np.subtract(lookback[top - size + 1 : top + 1][::-1, : far - near + 1], penalty, out=candidates)
        picked = pick[i : i + size] = candidates.argmax(axis=1)
        total = backwards[n - i - size : n - i][::-1]
        np.add(score[i : i + size], candidates[steps[:size], picked], out=total)
        if i < longest:  # frames with no predecessor in reach start a path: their score alone
            orphan = np.isneginf(total)
            total[orphan] = score[i : i + size][orphan]
        blocks.append((i, near))
        i += size
    starts, nears = np.array(blocks).T
    backlink = np.arange(n) - pick - np.repeat(nears, np.diff(np.r_[starts, n]))
    backlink[np.arange(n) < nearest] = -1  # no predecessor in reach
    # Until the first frame scoring 1% of the best, librosa starts a new path at each frame.
    started = score >= 0.01 * score.max()
    backlink[: int(np.argmax(started)) if started.any() else n] = -1
    return backlink, backwards[:n][::-1].copy()


class _ListWindow:
    """Values of a few arrays at frame i, as Python ints, converted LIST_WINDOW frames at a time (whole lists
    of a 3 h piece's upsampled frames would take 200 MB)."""

    def __init__(self, *arrays: np.ndarray):
        self.arrays, self.start, self.lists = arrays, 0, [a[:LIST_WINDOW].tolist() for a in arrays]

    def at(self, i: int) -> tuple[int, ...]:
        if not self.start <= i < self.start + LIST_WINDOW:
            self.start = i
            self.lists = [a[i : i + LIST_WINDOW].tolist() for a in self.arrays]
        j = i - self.start
        return tuple(values[j] for values in self.lists)


LIST_WINDOW = 1 << 16


def _runs(values: np.ndarray):
    """(end index of each run of equal values, its length), for np.repeat."""
    ends = np.r_[np.flatnonzero(np.diff(values)) + 1, len(values)]
    return ends, np.diff(np.r_[0, ends])


def last_beat(cumulative: np.ndarray) -> int:
    """The last local maximum of the cumulative score reaching half the median of its local maxima."""
    peaks = np.zeros(len(cumulative), dtype=bool)
    peaks[1:-1] = (cumulative[1:-1] > cumulative[:-2]) & (cumulative[1:-1] >= cumulative[2:])
    if len(cumulative) > 1:
        peaks[-1] = cumulative[-1] > cumulative[-2]
    median = np.ma.median(np.ma.masked_array(data=cumulative, mask=~peaks))
    threshold = 0.5 * np.ma.getdata(median)
    good = np.flatnonzero(peaks & (cumulative >= threshold))
    return int(good[-1]) if len(good) else len(cumulative) - 1


def backtrack(backlink: np.ndarray, tail: int) -> np.ndarray:
    """The beats on the path ending at `tail`, ascending."""
    links = backlink.tolist()
    beats = []
    while tail >= 0:
        beats.append(tail)
        tail = links[tail]
    return np.array(beats[::-1], dtype=np.int64)
