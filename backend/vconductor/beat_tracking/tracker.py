"""The runtime tracker: the packaged weights (vconductor/data/beat_tracker.npz) through the numpy network and
the decoder. No torch, no JIT: a first run is as fast as the tenth."""

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..audio import Spectrogram, audio_spectrogram
from ..conducting.beat_units import grouping, median_interval
from ..contract_beats import BeatTrack
from ..progress import cancellation_point
from .decoder import BAR_LENGTHS, TrackedBeats, decode
from .inference import spectrogram_activations
from .numpy_network import NumpyBeatTCN, load_npz

PACKAGED_WEIGHTS = "beat_tracker.npz"


def packaged_weights_path() -> Path:
    return Path(str(resources.files("vconductor") / "data" / PACKAGED_WEIGHTS))


@lru_cache(maxsize=4)
def _network(path: str) -> tuple[NumpyBeatTCN, dict]:
    return load_npz(path)


def tracker_network(path: str | Path | None = None) -> NumpyBeatTCN:
    """The numpy network of `path`, else of the packaged weights (loaded once per process)."""
    return _network(str(path or packaged_weights_path()))[0]


def track_spectrogram(
    spectrogram: Spectrogram, bar_lengths: tuple[int, ...] = BAR_LENGTHS, weights: str | Path | None = None
) -> TrackedBeats:
    """Beats, downbeats and metre of a piece (its Spectrogram is read block by block, left open)."""
    return tracked_with_activations(spectrogram, bar_lengths, weights)[0]


def tracked_with_activations(
    spectrogram: Spectrogram, bar_lengths: tuple[int, ...] = BAR_LENGTHS, weights: str | Path | None = None
) -> tuple[TrackedBeats, np.ndarray]:
    """`track_spectrogram`'s result and the network's activations it decoded (beat, downbeat) a frame."""
    net = tracker_network(weights)
    activations = spectrogram_activations(net, spectrogram, check=cancellation_point)
    return decode(activations, bar_lengths), activations


def track_file(path, bar_lengths: tuple[int, ...] = BAR_LENGTHS, weights=None) -> TrackedBeats:
    spectrogram = audio_spectrogram(path)
    try:
        return track_spectrogram(spectrogram, bar_lengths, weights)
    finally:
        spectrogram.close()


def beat_track(
    tracked: TrackedBeats, duration_s: float, source: str = "", meter: str | None = None
) -> BeatTrack:
    """The contract's BeatTrack (what files and the service carry) of a tracker result, with how the procedural
    conductor beats it (`conducted_bars`)."""
    return BeatTrack(
        tracked.beats_s,
        tracked.beat_in_bar,
        tracked.bar_length,
        tracked.tempo_bpm,
        tracked.confidence,
        duration_s=duration_s,
        source=source,
        conducted=conducted_bars(tracked, meter),
    )


def conducted_bars(tracked: TrackedBeats, meter: str | None = None) -> dict:
    """Beats the procedural conductor gives a bar against the bar's written beats: a fast 3/4 in one
    ({"beats_per_bar": 1, "written_per_bar": 3}), a fast 4/4 in two, 6/8 given as the metre in six (the
    tracker's bars of 2 dotted beats split in three, as conducting.beats does) or, when those eighths are fast,
    in two; else as written (conducting.beat_units)."""
    written, interval = tracked.main_bar_length, median_interval(tracked.beats_s)
    if meter == "6/8":
        return {"beats_per_bar": grouping(interval / 3, 6)[0], "written_per_bar": written}
    return {"beats_per_bar": grouping(interval, written)[0], "written_per_bar": written}
