"""Decoded audio and the checks every decoder's blocks pass through: rate, values, length.

All decoders (libsndfile, ffmpeg, sample arrays) feed :class:`MonoResampler` block by block, so the value and
length limits hold whatever the source, and a decode stops at the first block that breaks one.
"""

import math
from dataclasses import dataclass

import numpy as np
import soxr

SAMPLE_RATE = 22050
SILENCE_PEAK = 1e-4  # -80 dBFS: below this a whole file is treated as silent
# Float audio is nominally within +-1. Values up to 1e10 (200 dB over full scale) are accepted: exports that
# store integer-scaled floats (up to int32 range) still give the same, scale-free features. Beyond it the values
# are not audio and overflow float32 spectra (docs/input-limits.md).
MAX_SAMPLE_MAGNITUDE = 1e10


class AudioError(ValueError):
    """Audio that cannot be used, with a message fit for the user."""


class AudioTooLong(AudioError):
    """Audio over a length limit: known from a header (`stopped` False) or found while decoding (True)."""

    def __init__(self, name: str, seconds: float, limit_s: float, stopped: bool = False):
        self.name, self.seconds, self.limit_s, self.stopped = name, seconds, limit_s, stopped
        limit = f"{limit_s / 60:g} minutes" if limit_s >= 60 else f"{limit_s:g} s"
        if stopped:
            message = f"{name}: the audio is longer than the limit of {limit}"
        else:
            length = f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.1f} s"
            message = f"{name}: {length} of audio is over the limit of {limit}"
        super().__init__(message)

    def __reduce__(self):  # picklable with its fields: the CLI decodes in a worker process
        return type(self), (self.name, self.seconds, self.limit_s, self.stopped)


@dataclass
class Audio:
    """Mono float32 samples at 22050 Hz, with where they came from."""

    samples: np.ndarray
    source_rate: int
    channels: int
    name: str = "<samples>"

    sample_rate = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def peak(self) -> float:
        return float(np.abs(self.samples).max()) if len(self.samples) else 0.0


def check_rate(rate, name: str) -> int:
    if (
        not isinstance(rate, (int, np.integer, float))
        or not np.isfinite(rate)
        or int(rate) != rate
        or rate <= 0
    ):
        raise AudioError(f"{name}: invalid sample rate {rate!r}")
    if not 1000 <= rate <= 768000:
        raise AudioError(f"{name}: sample rate {int(rate)} Hz is outside the supported 1 kHz to 768 kHz")
    return int(rate)


def check_values(block: np.ndarray, name: str) -> None:
    """Refuse NaN, infinity and magnitudes no audio has, before they reach a resampler or a spectrum."""
    if not block.size:
        return
    peak = max(float(block.max()), -float(block.min()))  # NaN propagates through max and min
    if not math.isfinite(peak):
        raise AudioError(f"{name}: contains non-finite samples (NaN or infinity)")
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise AudioError(
            f"{name}: sample values reach {peak:.3g}, which is not audio (full scale is 1.0; at most "
            f"{MAX_SAMPLE_MAGNITUDE:g} is accepted)"
        )


class SampleCollector:
    """A decoder's sink that keeps every sample: the decoded piece as an Audio."""

    def __init__(self):
        self.parts: list[np.ndarray] = []

    def add(self, mono: np.ndarray) -> None:
        self.parts.append(mono.copy())  # the decoder reuses its buffers

    def finish(self, name: str, source_rate: int, channels: int) -> Audio:
        y = np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
        self.parts = []
        return Audio(y, source_rate, channels, name)


class MonoResampler:
    """Check blocks, downmix them to mono (channel mean, as librosa), resample to 22050 Hz with soxr HQ and hand
    them to a sink (``add(mono)``, ``finish(name, source_rate, channels)``; default: a SampleCollector).

    Streaming soxr gives exactly the samples of librosa's one-shot ``soxr_hq`` resampling. With `max_duration_s`
    the block that passes it raises AudioTooLong, so a source with no (or a false) length in its header is
    never decoded further than the limit.
    """

    HOLD = 4096  # resampled samples held back: librosa's length, ceil(n * ratio), is fixed only at the end

    def __init__(self, rate: int, name: str, max_duration_s: float | None = None, sink=None):
        self.rate, self.name = rate, name
        self.max_frames = None if max_duration_s is None else max_duration_s * rate
        self.max_duration_s = max_duration_s
        self.sink = sink if sink is not None else SampleCollector()
        self.stream = (
            None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, "float32", "HQ")
        )
        self.held = np.zeros(0, np.float32)
        self.n_in = self.n_out = 0

    def add(self, block: np.ndarray) -> None:
        check_values(block, self.name)  # on the source values: a cast to float32 would turn 1e300 into inf
        self.n_in += len(block)
        if self.max_frames is not None and self.n_in > self.max_frames:
            raise AudioTooLong(self.name, self.n_in / self.rate, self.max_duration_s, stopped=True)
        block = block.astype(np.float32, copy=False)
        mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 else block
        if self.stream is None:
            self._emit(mono)
            return
        held = np.concatenate([self.held, self.stream.resample_chunk(mono)])
        cut = max(0, len(held) - self.HOLD)
        self._emit(held[:cut])
        self.held = held[cut:]

    def finish(self, source_rate: int, channels: int):
        """The sink's result for the whole source."""
        if self.stream is not None:
            tail = np.concatenate([self.held, self.stream.resample_chunk(np.zeros(0, np.float32), last=True)])
            size = int(np.ceil(self.n_in * SAMPLE_RATE / self.rate)) - self.n_out
            self._emit(np.pad(tail[: max(size, 0)], (0, max(0, size - len(tail)))))
        if self.n_out == 0:
            raise AudioError(f"{self.name}: contains no audio samples")
        return self.sink.finish(self.name, source_rate, channels)

    def _emit(self, mono: np.ndarray) -> None:
        if len(mono):
            if not np.isfinite(mono).all():
                raise AudioError(f"{self.name}: contains non-finite samples (NaN or infinity)")
            self.n_out += len(mono)
            self.sink.add(mono)
