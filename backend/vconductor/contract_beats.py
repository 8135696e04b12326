"""The contract between the backend and the Blender add-on for beats: a BeatTrack and its JSON and CSV files.

Like contract.py, this file is the one definition, and `virtual_conductor_addon/contract_beats.py` a byte copy
(`python build_addon.py --sync-contract`, checked by tests/test_contract.py). Standard library and numpy only.
docs/beat-tracker.md describes the document.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import numpy as np

from .contract import _rounded

BEATS_FORMATS = (".json", ".csv")
BEATS_FORMAT_ID = "vconductor-beats/1"
BEATS_CSV_COLUMNS = ("time_s", "beat_in_bar", "bar_length", "downbeat", "tempo_bpm", "confidence")


class BeatsFileError(ValueError):
    """Content that is not a valid beat track, with what is wrong."""


@dataclass
class BeatTrack:
    """Beats of a piece (`vconductor analyze`, the service's /beats): times, place in the bar, the bar's length
    in beats, local tempo and the tracker's confidence, one value per beat (docs/beat-tracker.md)."""

    beats_s: np.ndarray
    beat_in_bar: np.ndarray
    bar_length: np.ndarray
    tempo_bpm: np.ndarray
    confidence: np.ndarray
    duration_s: float
    source: str = ""
    score: dict | None = None  # a score's alignment (docs/scores.md): case, confidence, fit; None without one
    # how the procedural conductor beats them: {"beats_per_bar": 1, "written_per_bar": 3} is a fast 3/4
    # conducted in one; None when not reported
    conducted: dict | None = None

    def __post_init__(self) -> None:
        self.beats_s = np.asarray(self.beats_s, np.float64).reshape(-1)
        n = len(self.beats_s)
        columns = [np.asarray(v).reshape(-1) for v in (self.beat_in_bar, self.bar_length)]
        self.beat_in_bar, self.bar_length = (c.astype(np.int64) for c in columns)
        self.tempo_bpm = np.asarray(self.tempo_bpm, np.float64).reshape(-1)
        self.confidence = np.asarray(self.confidence, np.float64).reshape(-1)
        arrays = (self.beat_in_bar, self.bar_length, self.tempo_bpm, self.confidence)
        if any(len(a) != n for a in arrays):
            raise BeatsFileError("beats: every per-beat list must have one value per beat")
        if not all(np.isfinite(a).all() for a in (self.beats_s, self.tempo_bpm, self.confidence)):
            raise BeatsFileError("beats: non-finite values")
        if np.any(np.diff(self.beats_s) <= 0) or (n and self.beats_s[0] < 0):
            raise BeatsFileError("beats: times must be non-negative and increasing")
        if np.any(self.bar_length < 1) or np.any(
            (self.beat_in_bar < 0) | (self.beat_in_bar >= self.bar_length)
        ):
            raise BeatsFileError("beats: each beat_in_bar must be within its bar_length")

    @property
    def downbeats_s(self) -> np.ndarray:
        return self.beats_s[self.beat_in_bar == 0]

    def to_document(self) -> dict:
        starts = self.beat_in_bar == 0
        extras = {} if self.score is None else {"score": dict(self.score)}
        if self.conducted is not None:
            extras["conducted"] = dict(self.conducted)
        return extras | {
            "format": BEATS_FORMAT_ID,
            "source": self.source,
            "duration_s": float(self.duration_s),
            "beats_s": _rounded(self.beats_s),
            "downbeats_s": _rounded(self.downbeats_s),
            "beat_in_bar": self.beat_in_bar.tolist(),
            "bar_length": self.bar_length.tolist(),
            "bars": [
                [round(float(t), 4), int(m)]
                for t, m in zip(self.beats_s[starts], self.bar_length[starts], strict=True)
            ],
            "tempo_bpm": _rounded(self.tempo_bpm),
            "confidence": _rounded(self.confidence),
        }


def beats_to_bytes(track: BeatTrack, suffix: str) -> bytes:
    if suffix == ".json":
        return (json.dumps(track.to_document(), indent=1) + "\n").encode()
    if suffix != ".csv":
        raise BeatsFileError(f"unknown beats format {suffix!r} (one of {', '.join(BEATS_FORMATS)})")
    out = io.StringIO()
    out.write(f"# source: {json.dumps(track.source)}\n# duration_s: {json.dumps(float(track.duration_s))}\n")
    if track.conducted is not None:
        out.write(f"# conducted: {json.dumps(track.conducted)}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BEATS_CSV_COLUMNS)
    for t, k, m, bpm, c in zip(
        track.beats_s, track.beat_in_bar, track.bar_length, track.tempo_bpm, track.confidence, strict=True
    ):
        writer.writerow([f"{t:.4f}", int(k), int(m), int(k == 0), f"{bpm:.2f}", f"{c:.3f}"])
    return out.getvalue().encode()


def beats_from_document(doc: dict) -> BeatTrack:
    """A BeatTrack from `to_document`'s dict (the service's result, a .json file); BeatsFileError if not one."""
    try:
        fields_ = [doc[k] for k in ("beats_s", "beat_in_bar", "bar_length", "tempo_bpm", "confidence")]
        score = doc.get("score")
        score = dict(score) if isinstance(score, dict) else None
        track = BeatTrack(
            *fields_, duration_s=float(doc["duration_s"]), source=str(doc.get("source", "")), score=score
        )
        track.conducted = _conducted(doc.get("conducted"))
        return track
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BeatsFileError):
            raise
        raise BeatsFileError(f"not a beats document ({type(exc).__name__}: {exc})") from None


def _conducted(value) -> dict | None:
    """The document's optional `conducted` bars, checked: positive whole numbers of beats."""
    if value is None:
        return None
    keys = ("beats_per_bar", "written_per_bar")
    if not isinstance(value, dict) or not all(isinstance(value.get(k), int) and value[k] >= 1 for k in keys):
        raise BeatsFileError(
            "beats: conducted must be {beats_per_bar, written_per_bar}, positive whole numbers"
        )
    return {k: value[k] for k in keys}
