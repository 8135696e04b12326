"""One training sample: a window of whole bars, its labels in seconds, and the NAME.flac + NAME.json pair.

The JSON has the fields of ../shared/corpus/*.json (source, tempo_map_quarters_bpm, gm_programs, soundfont,
sample_rate, duration_s, beats_s, downbeats_s, time_signatures, beat_grid) plus beat_in_bar, the count level,
the metre of every bar and what was drawn for the render. The FLAC is written first and the JSON last, each
whole or not at all, so a sample whose JSON exists is complete.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..contract import atomic_output
from .labels import Labels, window_bars
from .tempo_map import TempoMap


class BeatDataError(ValueError):
    """A beats-data folder or sample that cannot be built, merged or trained on, in one line."""


BEAT_GRID = (
    "from the score's bars as played (repeats expanded, pickup bars' beats are the bar's last beats); "
    "compound metres (6/8, 9/8, 12/8) beat in dotted groups of three counts"
)


@dataclass(frozen=True)
class Window:
    """Bars first..last (inclusive) of a score: one sample's music."""

    index: int
    first_bar: int
    last_bar: int
    start_q: float
    end_q: float


def cut_windows(labels: Labels, tempo: TempoMap, max_seconds: float) -> list[Window]:
    """Consecutive windows of whole bars, each at most max_seconds long as performed (one bar at least).

    A last window under a quarter of max_seconds (and under 8 s) joins the one before it when that fits, and is
    dropped otherwise: a few seconds of music teach little.
    """
    starts = np.array([b.start_q for b in labels.bars])
    ends = starts + np.array([b.length_q for b in labels.bars])
    start_s, end_s = tempo.seconds(starts), tempo.seconds(ends)
    spans, first = [], 0
    while first < len(starts):
        last = first
        while last + 1 < len(starts) and end_s[last + 1] - start_s[first] <= max_seconds:
            last += 1
        spans.append((first, last))
        first = last + 1
    if len(spans) > 1 and end_s[spans[-1][1]] - start_s[spans[-1][0]] < min(8.0, max_seconds / 4):
        tail = spans.pop()
        if end_s[tail[1]] - start_s[spans[-1][0]] <= max_seconds:
            spans[-1] = (spans[-1][0], tail[1])
    return [Window(i, a, b, float(starts[a]), float(ends[b])) for i, (a, b) in enumerate(spans)]


def window_notes(notes: np.ndarray, start_q: float, end_q: float) -> np.ndarray:
    """The notes that start inside the window, cut at its end (a sustained note does not outlast the bars)."""
    inside = notes[(notes["onset_q"] >= start_q - 1e-9) & (notes["onset_q"] < end_q - 1e-9)].copy()
    inside["duration_q"] = np.minimum(inside["duration_q"], end_q - inside["onset_q"])
    return inside


def _seconds(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def label_record(labels: Labels, window: Window, tempo: TempoMap, lead_in_s: float) -> dict:
    """The window's labels in seconds of its audio (time 0 is `lead_in_s` before its first bar line)."""
    cut = window_bars(labels, window.first_bar, window.last_bar)
    origin = float(tempo.seconds(window.start_q)) - lead_in_s

    def at(q) -> list[float]:
        return _seconds(tempo.seconds(np.asarray(q, float)) - origin)

    bar_starts = at([b.start_q for b in cut.bars])
    metres = [(b.numerator, b.denominator) for b in cut.bars]
    changes = [
        [s, n, d]
        for i, (s, (n, d)) in enumerate(zip(bar_starts, metres, strict=True))
        if i == 0 or metres[i - 1] != (n, d)
    ]
    return {
        "beats_s": at(cut.beats_q),
        "downbeats_s": at(cut.downbeats_q),
        "time_signatures": changes,
        "beat_grid": BEAT_GRID,
        "beat_in_bar": cut.beat_in_bar.tolist(),
        "counts_s": at(cut.counts_q),
        "count_in_bar": cut.count_in_bar.tolist(),
        "bars": [[s, n, d] for s, (n, d) in zip(bar_starts, metres, strict=True)],
        "pickup_q": round(float(cut.bar_phase_q[0]), 6),  # where in its bar the first bar starts
        "tempo_map_quarters_bpm": tempo.bpm_points(window.start_q, window.end_q),
    }


def sample_complete(folder: Path, name: str) -> bool:
    return (folder / f"{name}.json").is_file() and (folder / f"{name}.flac").is_file()


def write_sample(folder: Path, name: str, audio: np.ndarray, record: dict) -> None:
    """NAME.flac (16-bit, 22050 Hz mono) then NAME.json, each written whole or not at all."""
    import soundfile

    with atomic_output(folder / f"{name}.flac") as tmp:
        soundfile.write(tmp, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    with atomic_output(folder / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def sample_jsons(folder: Path) -> list[Path]:
    """The label files of a folder's complete samples (NAME.json beside its NAME.flac), by name."""
    return [
        p
        for p in sorted(Path(folder).glob("*.json"))
        if p.name != "manifest.json" and p.with_suffix(".flac").is_file()
    ]


def read_record(json_path: Path) -> dict:
    """A sample's labels (its JSON); BeatDataError naming the file when it cannot be read."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BeatDataError(f"{json_path}: unreadable sample labels ({exc})") from None
    if not isinstance(record, dict):
        raise BeatDataError(f"{json_path}: not a beats-data sample")
    return record


def sample_work(record: dict) -> str:
    """The work a sample is of ("" when its labels do not say): the unit of every split and exclusion."""
    return str(record.get("work") or record.get("source") or "")
