"""Our own beat and downbeat tracker (issue 12): a small TCN on the log-mel frames, its weights file, and
inference in bounded memory. The decoder that follows tempo and metre is still to come (docs/beat-tracker.md).
"""

from .features import FEATURES_VERSION, FRAME_RATE, N_BANDS, file_frames, scaled_rows
from .inference import BLOCK_FRAMES, array_activations, file_activations, spectrogram_activations
from .network import OUTPUTS, BeatNetworkConfig, BeatTCN, parameter_count
from .peaks import beats_and_downbeats, pick_peaks
from .weights import KIND, load_beat_tracker, save_beat_tracker

__all__ = [
    "BLOCK_FRAMES",
    "FEATURES_VERSION",
    "FRAME_RATE",
    "KIND",
    "N_BANDS",
    "OUTPUTS",
    "BeatNetworkConfig",
    "BeatTCN",
    "array_activations",
    "beats_and_downbeats",
    "file_activations",
    "file_frames",
    "load_beat_tracker",
    "parameter_count",
    "pick_peaks",
    "save_beat_tracker",
    "scaled_rows",
    "spectrogram_activations",
]
