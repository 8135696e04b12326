"""Metronome samples: click tracks with accented downbeats at drawn tempi and metres, metre changes included.

A small share of the training data (`beats-data build --clicks N`) that states the task without music: a beat
is a click, a downbeat the accented one, 2, 3 or 4 beats a bar, sometimes changing between bars, sometimes with
softer subdivision clicks (eighths, or triplets for compound time) and a drifting or suddenly changed tempo.
Synthesised with numpy (decaying tones or noise bursts), then augmented like the renders.
"""

import zlib

import numpy as np

from ..audio import SAMPLE_RATE
from .augment import augment
from .samples import sample_complete, write_sample

BEAT_GRID_CLICKS = "metronome: every click at beat level, the accented one is the downbeat"


def click_name(index: int) -> str:
    return f"clicks__{index:04d}"


def _bars(rng) -> list[int]:
    """Beats per bar of each bar: one metre, sometimes changing once or twice."""
    count = int(rng.integers(8, 24))
    metre = int(rng.choice([2, 3, 4]))
    bars = [metre] * count
    for _ in range(int(rng.choice([0, 0, 1, 2]))):
        at = int(rng.integers(2, count - 1))
        other = int(rng.choice([m for m in (2, 3, 4) if m != bars[at]]))
        bars[at:] = [other] * (count - at)
    return bars


def _beat_times(rng, num_beats: int, lead_in: float) -> tuple[np.ndarray, float]:
    """Beat onsets with a drawn tempo, drifting smoothly, sometimes changed at once; and the start tempo."""
    bpm = float(np.exp(rng.uniform(np.log(40.0), np.log(220.0))))
    drift = np.exp(np.cumsum(rng.normal(0.0, 0.01, num_beats)))
    if rng.random() < 0.3:
        drift[int(rng.integers(1, num_beats)) :] *= rng.choice([0.67, 0.8, 1.25, 1.5])
    periods = 60.0 / np.clip(bpm * drift, 30.0, 260.0)
    return lead_in + np.r_[0.0, np.cumsum(periods[:-1])], bpm


def _click(rng, pitch_hz: float, length_s: float, noisy: bool) -> np.ndarray:
    t = np.arange(int(length_s * SAMPLE_RATE)) / SAMPLE_RATE
    body = rng.standard_normal(len(t)) if noisy else np.sin(2 * np.pi * pitch_hz * t)
    return (body * np.exp(-t / (length_s / 5))).astype(np.float32)


def click_track(beats: np.ndarray, in_bar: np.ndarray, rng, subdivide: int = 1) -> np.ndarray:
    """A metronome playing `beats` (seconds), the downbeats (in_bar 0) accented, `subdivide` - 1 soft clicks
    between beats; tones or noise bursts and their pitch drawn from `rng`."""
    period = np.diff(np.r_[beats, beats[-1] + (beats[-1] - beats[-2] if len(beats) > 1 else 0.5)])
    noisy = bool(rng.random() < 0.3)
    pitch = float(rng.uniform(600.0, 1600.0))
    sounds = {
        "down": _click(rng, pitch * 1.5, 0.05, noisy),
        "beat": _click(rng, pitch, 0.04, noisy),
        "sub": _click(rng, pitch * 0.8, 0.03, noisy),
    }
    audio = np.zeros(int((beats[-1] + period[-1] + 1.0) * SAMPLE_RATE), np.float32)
    for when, pos, length in zip(beats, in_bar, period, strict=True):
        _add(audio, when, sounds["down" if pos == 0 else "beat"], 1.0 if pos == 0 else 0.5)
        for k in range(1, subdivide):
            _add(audio, when + length * k / subdivide, sounds["sub"], 0.25)
    return audio


def click_sample(rng) -> tuple[np.ndarray, dict]:
    """One click track and its labels (the fields the trainer reads, and a few more)."""
    bars = _bars(rng)
    in_bar = np.concatenate([np.arange(m) for m in bars])
    beats, bpm = _beat_times(rng, len(in_bar), float(rng.uniform(0.0, 1.0)))
    subdivide = int(rng.choice([1, 1, 2, 3]))
    audio = click_track(beats, in_bar, rng, subdivide)
    audio, augmentation = augment(audio, rng)
    starts = beats[in_bar == 0]
    record = {
        "source": "metronome (vconductor.beat_data.clicks)",
        "work": f"clicks/{int(rng.integers(10))}",  # ten pseudo-works, so a split by work can take some
        "beats_s": [round(float(t), 6) for t in beats],
        "downbeats_s": [round(float(t), 6) for t in starts],
        "beat_in_bar": in_bar.tolist(),
        "bars": [[round(float(s), 6), m, 4] for s, m in zip(starts, bars, strict=True)],
        "beat_grid": BEAT_GRID_CLICKS,
        "start_bpm": round(bpm, 3),
        "subdivision": subdivide,
        "augmentation": augmentation,
        "sample_rate": SAMPLE_RATE,
        "duration_s": len(audio) / SAMPLE_RATE,
    }
    return audio, record


def _add(audio: np.ndarray, when: float, sound: np.ndarray, gain: float) -> None:
    at = int(round(when * SAMPLE_RATE))
    part = audio[at : at + len(sound)]
    part += gain * sound[: len(part)]


def build_clicks(out, count: int, seed: int) -> int:
    """Click samples 0..count-1 in `out` (those already complete are kept); how many were written now."""
    written = 0
    for index in range(count):
        name = click_name(index)
        if sample_complete(out, name):
            continue
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        audio, record = click_sample(rng)
        write_sample(out, name, audio, record)
        written += 1
    return written
