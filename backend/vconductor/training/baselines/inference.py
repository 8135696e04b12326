"""A trained baseline as a motion source: `load_baseline(path)` -> callable(mel (3F, 128)) -> motion (F, 13, 2).

What `vconductor evaluate -m baseline:PATH` uses to put the Table-2 baselines beside M2S-GAN.
"""

from pathlib import Path

import numpy as np
import torch

from ...models import resolve_device
from ...models.checkpoints import CheckpointError, load_into, read_state_dict
from .features import khmm_features, mfcc
from .models import CNNLSTMBaseline, FeatureGANGenerator, LSTMBaseline

MODELS = {"lstm": LSTMBaseline, "cnn_lstm": CNNLSTMBaseline, "gan": FeatureGANGenerator}


def load_baseline(path: str | Path, device: str = "auto"):
    """The baseline saved by `vconductor train baseline` (baseline_<kind>.pt), ready to run on a mel."""
    _, meta = read_state_dict(path)
    kind = str(meta.get("kind", "")).removeprefix("baseline-")
    if kind not in MODELS:
        raise CheckpointError(
            f"{path} is not a baseline checkpoint (kind {meta.get('kind')!r}; expected one of "
            f"{', '.join('baseline-' + k for k in MODELS)})"
        )
    model = MODELS[kind]()
    load_into(model, path, f"baseline-{kind}")
    dev = resolve_device(device)
    model = model.to(dev).eval()

    @torch.no_grad()
    def generate(mel: np.ndarray) -> np.ndarray:
        if kind == "cnn_lstm":
            x = np.asarray(mel, dtype=np.float32)
        else:
            x = (mfcc if kind == "lstm" else khmm_features)(mel)
        inputs = torch.from_numpy(np.ascontiguousarray(x))[None].to(dev)
        if kind == "gan":  # seeded by the caller (evaluate seeds torch's global generator per clip)
            noise = torch.randn(1, inputs.shape[1], FeatureGANGenerator.noise_dim).to(dev)
            out = model(inputs, noise)
        else:
            out = model(inputs)
        return out[0].float().cpu().numpy()

    return generate
