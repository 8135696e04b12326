"""Listen-check a `vconductor beats-data build` folder by measurement: do the audio's onsets sit on the labels?

For every sample, from librosa's onset-strength envelope (z-scored):
- lag: the shift within half a beat either way that puts the labelled beats on the most onset energy (right
  labels give a small positive lag: the detector's latency and slow string attacks; wrong ones drift by up to
  half a beat);
- beat z / off z: the mean envelope at the beats (+lag) and half a beat later (music with busy off-beats, a
  rag, scores high on both);
- hit / random: the share of beats with a detected onset within +-70 ms, and of as many random times.
    .venv/bin/python scripts/check_beat_data.py /tmp/beats-data
"""

import argparse
import json
from pathlib import Path

import numpy as np

TOLERANCE_S = 0.07


def _hits(times: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """Signed distance from each time to its nearest onset."""
    if len(onsets) == 0:
        return np.full(len(times), np.inf)
    nearest = np.clip(np.searchsorted(onsets, times), 1, len(onsets) - 1)
    before, after = onsets[nearest - 1], onsets[nearest]
    return np.where(np.abs(times - before) < np.abs(after - times), before - times, after - times)


def _envelope_at(envelope: np.ndarray, rate: float, times: np.ndarray) -> float:
    return (
        float(np.mean(np.interp(times, np.arange(len(envelope)) / rate, envelope))) if len(times) else np.nan
    )


def check(path: Path, rng) -> dict:
    import librosa
    import soundfile

    record = json.loads(path.with_suffix(".json").read_text())
    audio, rate = soundfile.read(path.with_suffix(".flac"), dtype="float32")
    hop = 128
    envelope = librosa.onset.onset_strength(y=audio, sr=rate, hop_length=hop)
    envelope = (envelope - envelope.mean()) / (envelope.std() + 1e-9)
    onsets = librosa.onset.onset_detect(onset_envelope=envelope, sr=rate, hop_length=hop, units="time")
    beats = np.array(record["beats_s"])
    half = float(np.median(np.diff(beats))) / 2 if len(beats) > 1 else 0.25
    lags = np.arange(-half, half, hop / rate)
    lag = float(lags[np.argmax([_envelope_at(envelope, rate / hop, beats + x) for x in lags])])
    control = np.sort(rng.uniform(beats.min(), beats.max(), len(beats))) if len(beats) else beats
    offsets = _hits(beats, onsets)
    return {
        "name": path.stem,
        "seconds": record["duration_s"],
        "beats": len(beats),
        "lag_ms": lag * 1000,
        "beat_z": _envelope_at(envelope, rate / hop, beats + lag),
        "off_z": _envelope_at(envelope, rate / hop, beats + lag + half),
        "hit": float(np.mean(np.abs(offsets) <= TOLERANCE_S)) if len(beats) else np.nan,
        "random": float(np.mean(np.abs(_hits(control, onsets)) <= TOLERANCE_S)) if len(beats) else np.nan,
        "ensemble": f"{record.get('ensemble', '?')} / {record['soundfont'].split()[0]}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = [check(p, rng) for p in sorted(Path(args.folder).glob("*.flac"))]
    keys = ("lag_ms", "beat_z", "off_z", "hit", "random")
    print(f"{'sample':46} {'sec':>5} {'beats':>5} " + " ".join(f"{k:>7}" for k in keys) + "  ensemble")
    for r in rows:
        values = " ".join(f"{r[k]:7.2f}" for k in keys)
        print(f"{r['name'][:46]:46} {r['seconds']:5.0f} {r['beats']:5d} {values}  {r['ensemble']}")
    weights = np.array([r["beats"] for r in rows], float)
    for key in keys:
        values = np.array([r[key] for r in rows])
        keep = np.isfinite(values)
        print(
            f"{key}: mean {np.average(values[keep], weights=weights[keep]):.3f} (weighted by beats), "
            f"median {np.median(values[keep]):.3f}"
        )
    lags = np.array([r["lag_ms"] for r in rows])
    print(f"samples whose lag is within 0-120 ms: {np.mean((lags >= 0) & (lags <= 120)):.2f}")
    print(f"{len(rows)} samples, {sum(r['seconds'] for r in rows):.0f} s of audio")


if __name__ == "__main__":
    main()
