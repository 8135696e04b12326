"""Store what the packaged beat tracker weights compute on a few seconds of the bundled example, for
tests/test_beat_tracker_model.py (run it again whenever backend/vconductor/data/beat_tracker.npz changes).

    .venv/bin/python scripts/make_beat_fixture.py
"""

import hashlib
from pathlib import Path

import numpy as np

from vconductor.audio import audio_spectrogram
from vconductor.beat_tracking import scaled_rows
from vconductor.beat_tracking.tracker import packaged_weights_path, tracker_network

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "data" / "beat_tracker_activation.npz"
FRAMES = (200, 800)  # 7 s of the example's frames (the network sees them without further context)


def main() -> None:
    spectrogram = audio_spectrogram(REPO / "examples" / "ode_to_joy.ogg")
    try:
        frames = scaled_rows(spectrogram, *FRAMES)
    finally:
        spectrogram.close()
    frames = frames.astype(np.float16)  # stored so; the activations are of exactly what is stored
    activations = tracker_network().activations(frames.astype(np.float32))
    weights_md5 = hashlib.md5(packaged_weights_path().read_bytes()).hexdigest()
    np.savez_compressed(
        FIXTURE, frames=frames.astype(np.float16), activations=activations, weights_md5=weights_md5
    )
    print(f"{FIXTURE}: {len(frames)} frames, weights {weights_md5}")


if __name__ == "__main__":
    main()
