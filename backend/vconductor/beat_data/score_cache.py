"""ScoreData on disk: parsing and expanding a long work's repeats takes music21 minutes, a build does it once.

One .npz per work (no pickles): the note table, the bars, and the rest as JSON text.
"""

import json
from pathlib import Path

import numpy as np

from ..contract import atomic_output
from .labels import Bar, bar_labels
from .scores import ScoreData

CACHE_VERSION = 2  # bump when ScoreData or the label rules change: older caches are then ignored
# 2: every part's bars aligned to the score's (an overfull bar in one part no longer shifts it)


def save_score_data(path: Path, data: ScoreData) -> None:
    bars = np.array([[b.start_q, b.length_q, b.numerator, b.denominator] for b in data.labels.bars], float)
    meta = {
        "version": CACHE_VERSION,
        "work_id": data.work_id,
        "num_parts": data.num_parts,
        "tempo_marks": data.tempo_marks,
        "fermatas": data.fermatas,
        "section_ends_q": data.section_ends_q,
        "repeats_expanded": data.repeats_expanded,
        "part_register": data.part_register,
    }
    with atomic_output(path) as tmp, tmp.open("wb") as f:
        np.savez(f, notes=data.notes, bars=bars, meta=np.array(json.dumps(meta)))


def load_score_data(path: Path) -> ScoreData | None:
    """The cached ScoreData, or None when there is none (or it is unreadable or from another version)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            notes, bars = saved["notes"], saved["bars"]
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("version") != CACHE_VERSION:
        return None
    labels = bar_labels([Bar(float(s), float(n), int(a), int(b)) for s, n, a, b in bars])
    return ScoreData(
        work_id=meta["work_id"],
        notes=notes,
        labels=labels,
        num_parts=meta["num_parts"],
        tempo_marks=[tuple(m) for m in meta["tempo_marks"]],
        fermatas=[tuple(f) for f in meta["fermatas"]],
        section_ends_q=meta["section_ends_q"],
        repeats_expanded=meta["repeats_expanded"],
        part_register=meta["part_register"],
    )
