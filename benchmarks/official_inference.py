"""The official inference path, as the official test_unseen.py does it, for side-by-side timing.

librosa.load (default resampling), librosa's melspectrogram and power_to_db, [0, 1] scaling, flip, linear
resize to 90 Hz (numpy instead of cv2, same arithmetic), then independent 60 s chunks through the generator
under no_grad (the shipped script does not even disable autograd, which is slower still). The generator is
our module with the official weights: the same layers, eager, as the official code runs them.
Usage: python official_inference.py AUDIO CHECKPOINT
"""

import sys

import librosa
import numpy as np
import torch

from vconductor.audio import resize_time_linear
from vconductor.models import load_generator


def official_features(path: str) -> np.ndarray:
    y, sr = librosa.load(path)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128, hop_length=256)
    norm = np.flip(np.abs(librosa.power_to_db(mel, ref=np.max) + 80) / 80, axis=0)
    return resize_time_linear(norm, int(len(y) / sr * 90)).T.astype(np.float32)


def main(path: str, checkpoint: str) -> None:
    mel = official_features(path)
    generator = load_generator(checkpoint)
    motion = np.zeros((len(mel) // 3 + 1, 13, 2))
    with torch.no_grad():
        for k in range(min(60, len(mel) // 5400 + 1)):
            chunk = mel[k * 5400 : (k + 1) * 5400]
            chunk = chunk[: len(chunk) - len(chunk) % 90]
            if len(chunk) < 450:
                continue
            z = torch.randn(1, len(chunk) // 90, 8)
            motion[k * 1800 : k * 1800 + len(chunk) // 3] = generator(torch.from_numpy(chunk)[None], z)[
                0
            ].numpy()
    np.save("/dev/null", motion)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
