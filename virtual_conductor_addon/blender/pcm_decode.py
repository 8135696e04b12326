"""A sound file's time range as mono float32 PCM, decoded by Blender's audio library (aud) in short steps.

Runs on a worker thread (no bpy). aud holds Python's global lock for the whole of each call (one `data()` of
a 3 h file would freeze Blender's UI for most of a minute) and offers no streaming reader, so each step is its
own `limit()` of the file, a fraction of a second of work. Steps begin on whole seconds, which `limit()`
(single precision inside) hits exactly. Seeks are sample-exact in PCM and FLAC files but not in lossy ones (a
few samples off, or a decoder warming up), so every step after the first starts a second early and is placed
where that overlap equals the end of the step before. Resampling is linear, as `Sound.resample(rate, False)` does,
but continuous across steps.
"""

import math
import time
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Steps (seconds of audio: shortest, first, longest) adapt to take about STEP_WALL_S each, the most the UI
# then waits. Much of a step's cost is opening the file (~60 ms for 16-bit WAV): they grow as long as allowed.
STEPS_S = (1, 8, 120)
STEP_WALL_S = 0.15
PREROLL_S = 1  # a step after the first starts this early: lossy decoders settle, the overlap places the step
OVERLAP = 2048  # samples of the previous step's end that a step's overlap must reproduce exactly
MAX_LAG = 4096  # how far (in samples) a lossy seek may land from where it was asked to
PROBE = 64  # samples compared at every candidate lag before the whole overlap is checked

Writer = Callable[[np.ndarray], None]


def decode_range(
    path: str,
    start_s: float,
    end_s: float,
    rate: int,
    write: Writer,
    on_progress: Callable[[float], None] = lambda _fraction: None,
    cancelled: Callable[[], bool] = lambda: False,
    steps_s: tuple[int, int, int] = STEPS_S,
) -> bool:
    """Pass `write` blocks of the mono samples at `rate` that the file plays from start_s (>= 0) to end_s, or
    to its end. False when cancelled() turned true first. aud.error when the file cannot be decoded."""
    import aud  # importable only inside Blender

    sound = aud.Sound(path)
    source_rate = float(sound.specs[0])
    known_end_s = min(end_s, sound.length / source_rate) if sound.length > 0 else end_s  # for progress only
    reader = _StepReader(path, source_rate)
    resampler = LinearResampler(source_rate / rate, write)
    shortest, step, longest = steps_s
    position = start_s
    while position < end_s:
        if cancelled():
            return False
        stop = min(float(math.floor(position) + step), end_s)
        began = time.perf_counter()
        samples, more = reader.read(position, stop)
        resampler.push(samples)
        took = max(time.perf_counter() - began, 1e-3)
        step = min(max(round(step * min(max(STEP_WALL_S / took, 0.5), 2.0)), shortest), longest)
        position = stop
        on_progress(min((position - start_s) / max(known_end_s - start_s, 1e-9), 1.0))
        if not more:
            break
    resampler.finish()
    return True


class _StepReader:
    """Consecutive ranges of one file, each decoded by its own aud call and joined without a seam."""

    def __init__(self, path: str, rate: float) -> None:
        self.path = path
        self.rate = rate
        self.tail: np.ndarray | None = None  # the last OVERLAP samples returned
        self.lag = 0  # where the last lossy seek landed, relative to where it was asked to

    def read(self, start_s: float, stop_s: float) -> tuple[np.ndarray, bool]:
        """The samples from start_s to stop_s, following the previous read; and whether the file goes on."""
        import aud

        begin = start_s if self.tail is None else max(start_s - PREROLL_S, 0.0)
        data = aud.Sound(self.path).limit(begin, stop_s).rechannel(1).data()[:, 0]
        if self.tail is None:
            piece = data
        else:
            seam = round((start_s - begin) * self.rate)
            self.lag = self._lag(data, seam)
            piece = data[max(seam + self.lag, 0) :]
        previous = self.tail if self.tail is not None else piece[:0]
        self.tail = np.concatenate([previous, piece[-OVERLAP:]])[-OVERLAP:]
        asked = round((stop_s - begin) * self.rate)
        return piece, data.size > asked - MAX_LAG

    def _lag(self, data: np.ndarray, seam: int) -> int:
        """The offset from `seam` at which `data` repeats the previous tail exactly, nearest the last one; the
        last one when none does (decoders that are never bit-exact after a seek, e.g. AAC's noise)."""
        tail = self.tail
        n = tail.size
        if seam >= n and np.array_equal(data[seam - n : seam], tail):
            return 0
        low, high = max(-MAX_LAG, n - seam), min(MAX_LAG, data.size - seam)
        if n < PROBE or high < low:
            return self.lag
        windows = sliding_window_view(data[seam + low - PROBE : seam + high], PROBE)
        found = np.flatnonzero((windows == tail[-PROBE:]).all(axis=1)) + low
        for lag in sorted(found.tolist(), key=lambda lag: abs(lag - self.lag))[:32]:
            if np.array_equal(data[seam + lag - n : seam + lag], tail):
                return lag
        return self.lag


class LinearResampler:
    """Linear interpolation between rates over a stream of blocks: output sample j is the input at position
    j * ratio (as in aud's fast resampler), the same however the input is cut into blocks."""

    def __init__(self, ratio: float, write: Writer) -> None:
        self.ratio = float(ratio)
        self.write = write
        self.buffer = np.zeros(0, np.float32)
        self.offset = 0  # input index of buffer[0]
        self.next = 0  # index of the next output sample

    def push(self, samples: np.ndarray) -> None:
        if self.ratio == 1.0:
            if samples.size:
                self.write(np.ascontiguousarray(samples, np.float32))
            return
        self.buffer = np.concatenate([self.buffer, samples.astype(np.float32, copy=False)])
        last = self.offset + self.buffer.size - 1  # outputs need the input sample after their position
        self._emit(math.ceil(last / self.ratio))

    def finish(self) -> None:
        if self.ratio != 1.0 and self.buffer.size:
            self._emit(math.floor((self.offset + self.buffer.size - 1) / self.ratio) + 1)

    def _emit(self, end: int) -> None:
        if end <= self.next:
            return
        if self.ratio.is_integer():  # e.g. 44.1 kHz to 22.05 kHz: every other sample
            first, stride = self.next * int(self.ratio) - self.offset, int(self.ratio)
            self.write(self.buffer[first : first + (end - self.next) * stride : stride].copy())
        else:
            position = np.arange(self.next, end) * self.ratio - self.offset  # at most the last input's index
            low = position.astype(np.int64)
            values = self.buffer[low]
            step = self.buffer[np.minimum(low + 1, self.buffer.size - 1)]
            step -= values
            step *= (position - low).astype(np.float32)
            step += values  # in place: this runs over minutes of samples at a time
            self.write(step)
        self.next = end
        consumed = min(int(self.next * self.ratio) - self.offset, self.buffer.size - 1)
        self.buffer = self.buffer[max(consumed, 0) :]
        self.offset += max(consumed, 0)
