"""Our own beat, downbeat and metre tracker (issue 12; docs/beat-tracker.md): a small TCN on the log-mel frames
and a decoder that follows tempo and metre.

Importing this package does not import torch: the runtime runs the network in numpy (numpy_network.py) from
the packaged weights (tracker.py). Training uses the torch network (network.py, weights.py, torch_inference.py),
imported from those modules directly.
"""

from .config import OUTPUTS, BeatNetworkConfig
from .decoder import TrackedBeats, decode
from .features import FEATURES_VERSION, FRAME_RATE, N_BANDS, file_frames, scaled_rows
from .inference import BLOCK_FRAMES, block_activations, spectrogram_activations
from .numpy_network import NumpyBeatTCN, WeightsError, load_npz
from .peaks import beats_and_downbeats, pick_peaks

__all__ = [
    "BLOCK_FRAMES",
    "FEATURES_VERSION",
    "FRAME_RATE",
    "N_BANDS",
    "OUTPUTS",
    "BeatNetworkConfig",
    "NumpyBeatTCN",
    "TrackedBeats",
    "WeightsError",
    "beats_and_downbeats",
    "block_activations",
    "decode",
    "file_frames",
    "load_npz",
    "pick_peaks",
    "scaled_rows",
    "spectrogram_activations",
]
