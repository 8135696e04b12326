"""Training samples cut from the dataset, and the positive/negative music-motion pairs of M2S learning.

Each recording is cut into non-overlapping pieces of ``sample_length`` seconds from its start (as the official
loader: no random offset, no padding). A batch of pieces gives two clips of ``clip_length`` seconds per piece;
(music1, motion1) and (music2, motion2) are the positives and the crossed pairs are the negatives
(docs/official-model.md#training). One pair of start times is drawn per batch, as in the official
``PairBuilder``.

Differences from the official sampler (docs/training.md): super-hard shifts really lie in [0.5, 5) s (the
official code draws [0, 4.5): it never adds the 0.5 s offset; ``official_super_hard`` restores it); easy
negatives never pair two pieces of one recording when the batch allows it (the official flip of an unshuffled
batch can); music and motion are cut at the same motion frame (music index 3*int(t*30) instead of int(t*90),
which can lag by up to 2 mel frames).
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..skeleton import FPS, MEL_FRAMES_PER_MOTION_FRAME

MODES = ("easy", "hard", "super_hard")


def seconds_to_frames(seconds: float) -> int:
    """Motion frames (30 fps) in `seconds`, rounded to the nearest frame."""
    return int(round(seconds * FPS))


class SamplePieces(Dataset):
    """Pieces of ``sample_length`` seconds of every recording: item -> (mel (3F, 128), motion (F, 13, 2), rec)."""

    def __init__(self, dataset, sample_length: float):
        self.dataset = dataset
        self.frames = seconds_to_frames(sample_length)
        per_recording = dataset.motion_frames // self.frames
        if per_recording < 1:
            raise ValueError(
                f"{dataset.root}/{dataset.split}: recordings of {dataset.seconds:g} s are shorter than "
                f"sample_length {sample_length:g} s"
            )
        self.index = [(r, k) for r in range(len(dataset)) for k in range(per_recording)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        rec, k = self.index[i]
        sample = self.dataset[rec]
        a = k * self.frames
        motion = np.array(sample.motion[a : a + self.frames], dtype=np.float32)
        mel = np.array(
            sample.mel[a * MEL_FRAMES_PER_MOTION_FRAME : (a + self.frames) * MEL_FRAMES_PER_MOTION_FRAME],
            dtype=np.float32,
        )
        return torch.from_numpy(mel), torch.from_numpy(motion), rec


@dataclass(frozen=True)
class PairSpec:
    """Lengths and offsets of the pairs, in seconds."""

    sample_length: float
    clip_length: float
    hard_gap: float
    super_hard_shift: tuple[float, float] = (0.5, 5.0)
    official_super_hard: bool = False


def draw_starts(spec: PairSpec, mode: str, gen: torch.Generator) -> tuple[float, float]:
    """Start times (s) of clip 1 and clip 2 for one batch (easy: one start for both)."""
    u1, u2 = torch.rand(2, generator=gen, dtype=torch.float64).tolist()
    s, c = spec.sample_length, spec.clip_length
    if mode == "easy":
        start = u1 * (s - c)
        return start, start
    if mode == "hard":
        g = spec.hard_gap
        start1 = u1 * (s - c - g)
        return start1, start1 + g + u2 * (s - c - start1 - g)
    if mode == "super_hard":
        lo, hi = spec.super_hard_shift
        start1 = u1 * (s - c - hi)
        if spec.official_super_hard:  # the official bug: the comment's 0.5 s offset is never added
            return start1, start1 + u2 * (hi - lo)
        return start1, start1 + lo + u2 * (hi - lo)
    raise ValueError(f"unknown negative mode {mode!r} (expected one of {', '.join(MODES)})")


def other_recording_order(recordings: torch.Tensor) -> torch.Tensor:
    """A permutation pairing every batch element with one of another recording (a rotation), if one exists.

    The official code flips the batch, which can pair the two halves of one recording (it does not shuffle).
    """
    n = len(recordings)
    for shift in range(1, n):
        order = torch.roll(torch.arange(n), shift)
        if not bool((recordings[order] == recordings).any()):
            return order
    return torch.roll(torch.arange(n), 1)  # every element from one recording: nothing better exists


def build_pairs(mel, motion, recordings, spec: PairSpec, mode: str, gen: torch.Generator):
    """(music1, motion1, music2, motion2): (1, 1) and (2, 2) are in sync, the crossed pairs are not."""
    f = seconds_to_frames(spec.clip_length)
    start1, start2 = draw_starts(spec, mode, gen)
    a, b = int(start1 * FPS), int(start2 * FPS)
    r = MEL_FRAMES_PER_MOTION_FRAME
    music1, motion1 = mel[:, a * r : (a + f) * r], motion[:, a : a + f]
    if mode == "easy":
        order = other_recording_order(recordings)
        return music1, motion1, music1[order], motion1[order]
    return music1, motion1, mel[:, b * r : (b + f) * r], motion[:, b : b + f]
