"""music21's bundled corpus as training material: which works we may train on, and each score as notes to play
plus the bars its labels come from.

The held-out works of issue 12 (the evaluation set) are never listed for training: see `is_held_out`.
music21 is imported inside the functions that need it (training-time only; the runtime never imports this).
"""

import re
import warnings
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from ..scores.labels import Labels, bar_labels
from ..scores.music import (  # noqa: F401  (NOTE_DTYPE, ScoreError: the training data's names for them)
    NOTE_DTYPE,
    ScoreError,
    align_part_bars,
    expand_repeats,
    fermatas,
    score_bars,
    score_notes,
    score_parts,
    section_ends,
    tempo_marks,
)

# Formats that hold notes (.rntxt files are Roman-numeral analyses, not music to play).
PLAYABLE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc", ".mid", ".midi")
# Folders of test and demonstration files, not music.
SKIPPED_FOLDERS = {"demos", "theoryExercises"}


@dataclass(frozen=True)
class Work:
    """One corpus work: a file, or one numbered piece of a collection file (an .abc book of tunes)."""

    path: str  # relative to music21's corpus folder, e.g. "bach/bwv66.6.mxl"
    number: str | None = None

    @property
    def id(self) -> str:
        return f"{self.path}#{self.number}" if self.number else self.path

    @property
    def group(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def slug(self) -> str:
        """A file-name-safe name for the work."""
        stem = str(PurePosixPath(self.path).with_suffix(""))
        return re.sub(r"[^A-Za-z0-9]+", "_", stem + (f"_{self.number}" if self.number else "")).strip("_")


# --- held-out works (issue 12) -------------------------------------------------------------------------------


def _numbers_after(pattern: str, text: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(pattern, text)]


def is_held_out(path_or_id) -> bool:
    """True for the works issue 12 keeps for evaluation, in any spelling we meet (corpus paths, ids, file
    names, "music21 corpus: ..." sources): every movement of Beethoven's string quartets op. 18 and op. 59,
    Mozart's K. 155-K. 590, Haydn's op. 1-op. 76, Bach's BWV 250-300 and BWV 66.6.

    Mozart and Haydn are held out by number range whatever the genre (the corpus' Mozart K. 545 sonata
    included): erring on the side of never training on an evaluation work.
    """
    text = str(path_or_id).lower().replace("\\", "/")
    opus = r"op(?:us)?[\s._-]*0*(\d+)"
    if "beethoven" in text and {18, 59} & set(_numbers_after(opus, text)):
        return True
    if "mozart" in text and any(
        155 <= k <= 590 for k in _numbers_after(r"(?<![a-z])kv?[\s._-]*0*(\d+)", text)
    ):
        return True
    if "haydn" in text and any(1 <= n <= 76 for n in _numbers_after(opus, text)):
        return True
    for match in re.finditer(r"bwv[\s._-]*0*(\d+)(?:\.(\d+))?", text):
        number, part = int(match.group(1)), match.group(2)
        if 250 <= number <= 300 or (number == 66 and part == "6"):
            return True
    return False


def list_works(include_held_out: bool = False) -> list[Work]:
    """Every playable work of music21's corpus (one per piece of a collection), the held-out ones left out.

    A work stored in two formats (bwv366.krn and .mxl) is listed once, preferring MusicXML.
    """
    from music21 import corpus

    works: dict[tuple[str, str | None], Work] = {}
    bundle = corpus.corpora.CoreCorpus().metadataBundle
    for entry in bundle[:]:  # one slice: iterating the bundle rebuilds its list per item (minutes)
        path = PurePosixPath(str(entry.sourcePath))
        if path.suffix.lower() not in PLAYABLE_SUFFIXES or path.parts[0] in SKIPPED_FOLDERS:
            continue
        work = Work(str(path), str(entry.number) if entry.number not in (None, "") else None)
        if not include_held_out and is_held_out(work.id):
            continue
        key = (str(path.with_suffix("")), work.number)
        if key not in works or path.suffix.lower() in (".mxl", ".xml", ".musicxml"):
            works[key] = work
    collections = {w.path for w in works.values() if w.number}  # their whole-file entries repeat tune 1
    kept = [w for w in works.values() if w.number or w.path not in collections]
    return sorted(kept, key=lambda w: (w.path, _natural(w.number)))


def first_time_signatures() -> dict[str, str]:
    """Each corpus work's first time signature as music21's metadata bundle records it ("6/8"), by work id:
    chooses works by metre without parsing them."""
    from music21 import corpus

    signatures = {}
    for entry in corpus.corpora.CoreCorpus().metadataBundle[:]:
        number = str(entry.number) if entry.number not in (None, "") else None
        signature = getattr(entry.metadata, "timeSignatureFirst", None)
        if signature:
            signatures[Work(str(PurePosixPath(str(entry.sourcePath))), number).id] = str(signature)
    return signatures


def _natural(number: str | None) -> tuple:
    return (0, int(number), "") if number and number.isdigit() else (1, 0, number or "")


# --- one score: notes, bars, tempo marks, fermatas -----------------------------------------------------------


@dataclass
class ScoreData:
    """What a render needs from a score, repeats expanded as played."""

    work_id: str
    notes: np.ndarray  # NOTE_DTYPE, sorted by onset
    labels: Labels
    num_parts: int
    tempo_marks: list[tuple[float, float]]  # (quarter, quarter-note BPM) written in the score
    fermatas: list[tuple[float, float]]  # (onset, end) of notes held under a fermata
    section_ends_q: list[float]  # double bars, repeat signs, the end: where ritardandi go
    repeats_expanded: bool
    part_register: list[float] = field(default_factory=list)  # mean pitch per part (register)


def load_score(work: Work):
    """Parse a work with music21 (a collection's numbered piece alone); ScoreError when it cannot be read."""
    from music21 import corpus, stream

    try:
        score = corpus.parse(work.path, number=work.number) if work.number else corpus.parse(work.path)
    except Exception as exc:  # music21 raises many kinds for a file it cannot read
        raise ScoreError(f"{work.id}: music21 cannot parse it ({type(exc).__name__}: {exc})") from None
    if isinstance(score, stream.Opus):
        if not score.scores:
            raise ScoreError(f"{work.id}: an empty collection")
        score = score.scores[0]
    return score


def read_score(work: Work) -> ScoreData:
    """Parse a work and turn it into notes and labels as played; ScoreError when it holds no usable music."""
    with warnings.catch_warnings():  # music21 warns about every overfull bar it repairs: noise in a build
        warnings.simplefilter("ignore")
        written = load_score(work)
        score, expanded = expand_repeats(written)
        # every part's bar i where the score's starts, as the runtime reads a user's score: else one part's
        # short or overfull bar shifts that part, and the labels drawn from the first part's bars, for good
        align_part_bars(score)
        try:
            bars = score_bars(score)
            notes = score_notes(score)
        except ScoreError as exc:
            raise ScoreError(f"{work.id}: {exc}") from None
    if len(notes) == 0:
        raise ScoreError(f"{work.id}: no pitched notes")
    num_parts = len(score_parts(score))
    register = [
        float(notes["pitch"][notes["part"] == p].mean()) if (notes["part"] == p).any() else 60.0
        for p in range(num_parts)
    ]
    return ScoreData(
        work_id=work.id,
        notes=notes,
        labels=bar_labels(bars),
        num_parts=num_parts,
        tempo_marks=tempo_marks(score),
        fermatas=fermatas(score),
        section_ends_q=section_ends(score, bars),
        repeats_expanded=expanded,
        part_register=register,
    )
