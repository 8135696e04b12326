"""Score alignment (issue 15, docs/scores.md): beat F and downbeat F (+-70 ms) of the score's aligned beats
against the true ones, per piece and case, beside our audio-only tracker's, and the fit of a score of another
piece (each score on the audio of the next piece and of the one three on). Pieces: music21 corpus excerpts
(~25-30 s) rendered with FluidSynth at the score's tempo ("rendered"), at the score's tempo with every fermata
held three times its written length ("held", the pieces with fermatas), and with a drawn rubato tempo map
("rubato"); and the shared corpus' four renders (../shared/corpus, whole
pieces at their own tempo map) when present.

    .venv/bin/python benchmarks/bench_score_alignment.py [--soundfont PATH] [--seconds 25]
"""

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from vconductor.audio import audio_spectrogram  # noqa: E402
from vconductor.beat_data.score_renders import nominal_tempo_map, render, rubato_tempo_map  # noqa: E402
from vconductor.beat_tracking.tracker import track_spectrogram  # noqa: E402
from vconductor.metrics.beats import beat_f_measure  # noqa: E402
from vconductor.scores.alignment import ScoreMismatch, align, beat_times  # noqa: E402
from vconductor.scores.source import spaced_beats  # noqa: E402
from vconductor.scores.timeline import score_timeline  # noqa: E402

PIECES = [
    "bach/bwv10.7",
    "mozart/k155/movement1",
    "haydn/opus1no1/movement1",
    "joplin/maple_leaf_rag",
    "schubert/Lindenbaum",
    "beethoven/opus132",
]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def excerpt(work: str, seconds: float):
    import music21

    timeline = score_timeline(music21.corpus.parse(work), work)
    ends = [b.start_q + b.length_q for b in timeline.bars]
    end_q = next((e for e in ends if timeline.nominal_seconds(e) >= seconds), ends[-1])
    cut = copy.copy(timeline)
    keep = timeline.notes["onset_q"] < end_q - 1e-6
    cut.notes = timeline.notes[keep].copy()
    cut.notes["duration_q"] = np.minimum(cut.notes["duration_q"], end_q - cut.notes["onset_q"])
    cut.staccato = timeline.staccato[keep]
    cut.bars = [b for b in timeline.bars if b.start_q < end_q - 1e-6]
    cut.fermatas = [f for f in timeline.fermatas if f[0] < end_q]
    cut.__post_init__()
    return cut


def motion_bas(audio, beats, timeline=None) -> float:
    """The procedural motion's Beat Align Score against the true beats: on the score's beats, or (no
    timeline) on the tracker's."""
    from vconductor.beat_sources import BeatSource
    from vconductor.metrics import beat_align_score, motion_beats
    from vconductor.pipeline import ProceduralConductor, prepare_input, run
    from vconductor.scores.source import ScoreSource

    source = None if timeline is None else BeatSource(score=ScoreSource(timeline))
    prepared = prepare_input(audio, "analysis", beats=source)
    motion = run(prepared, ProceduralConductor())
    return beat_align_score(motion_beats(motion.keypoints), beats)


def measure(timeline, audio, beats, downbeats) -> dict:
    spectrogram = audio_spectrogram(audio)
    tracked = track_spectrogram(spectrogram)
    row = {
        "tracker F": beat_f_measure(tracked.beats_s, beats, 0.07)[0],
        "tracker dbF": beat_f_measure(tracked.downbeats_s, downbeats, 0.07)[0],
        "tracker BAS": motion_bas(audio, beats),
    }
    try:
        alignment = align(timeline, spectrogram)
    except ScoreMismatch as exc:
        return row | {"case": f"mismatch: {exc}"}
    beats_q, downbeats_q = timeline.labels.beats_q, timeline.labels.downbeats_q
    times = beat_times(alignment, timeline, beats_q)
    played = (beats_q >= alignment.anchors_q[0]) & (beats_q <= alignment.anchors_q[-1])
    times[played] = spaced_beats(times[played])
    played &= (times >= 0) & (times <= spectrogram.duration_s)  # the part of the score the audio plays
    down = np.interp(downbeats_q, beats_q, times)[
        (downbeats_q >= beats_q[played][0]) & (downbeats_q <= beats_q[played][-1])
    ]
    times = times[played]
    return row | {
        "case": alignment.case,
        "confidence": alignment.confidence,
        "fit": alignment.fit,
        "score F": beat_f_measure(times, beats, 0.07)[0],
        "score dbF": beat_f_measure(down, downbeats, 0.07)[0],
        "score BAS": motion_bas(audio, beats, timeline),
    }


def fermatas_held(timeline, tempo, factor: float):
    """`tempo` with every fermata's notes held `factor` times as long (a notation program's playback)."""
    from vconductor.beat_data.tempo_map import TempoMap

    steps = np.diff(tempo.grid_s)
    middle = (tempo.grid_q[1:] + tempo.grid_q[:-1]) / 2
    for start, end in timeline.fermatas:
        steps[(middle >= start) & (middle < end)] *= factor
    return TempoMap(tempo.grid_q, tempo.grid_s[0] + np.r_[0.0, np.cumsum(steps)])


def show(name: str, kind: str, row: dict) -> None:
    cells = " ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
    print(f"{name:28s} {kind:9s} {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soundfont", default="/usr/share/sounds/sf2/FluidR3_GM.sf2")
    parser.add_argument("--seconds", type=float, default=25.0)
    args = parser.parse_args()
    spectrograms, timelines = {}, {}
    for work in PIECES:
        timeline = timelines[work] = excerpt(work, args.seconds)
        kinds = [("rendered", nominal_tempo_map(timeline)), ("rubato", rubato_tempo_map(timeline, 1))]
        if timeline.fermatas:
            kinds.insert(1, ("held", fermatas_held(timeline, nominal_tempo_map(timeline), 3.0)))
        for kind, tempo in kinds:
            take = render(timeline, tempo, Path(args.soundfont), seed=3)
            spectrograms[(work, kind)] = audio_spectrogram((take.samples, 22050))
            audio = (take.samples, 22050)
            show(work, kind, measure(timeline, audio, take.beats_s, take.downbeats_s))
    pairs = [(work, PIECES[(i + step) % len(PIECES)]) for step in (1, 3) for i, work in enumerate(PIECES)]
    for work, other in pairs:  # each score against the audio of the next piece and of the one three on
        try:
            fit = align(timelines[work], spectrograms[(other, "rubato")]).fit
            print(f"NOT DETECTED: score {work} on audio of {other}: fit {fit:.2f}")
        except ScoreMismatch as exc:
            print(f"score {work} on audio of {other}: refused ({exc})")
    for truth in sorted(SHARED.glob("*.json")) if SHARED.is_dir() else []:
        doc = json.loads(truth.read_text())
        work = doc["source"].split(": ", 1)[1].rsplit(".", 1)[0]
        import music21

        timeline = score_timeline(music21.corpus.parse(work), work)
        marks = {round(b, 1) for _, b in timeline.tempo_marks}
        written = {round(b, 1) for _, b in doc["tempo_map_quarters_bpm"]} == marks
        kind = "shared (at the score's tempo)" if written else "shared (another tempo)"
        show(
            work,
            kind,
            measure(
                timeline, truth.with_suffix(".flac"), np.array(doc["beats_s"]), np.array(doc["downbeats_s"])
            ),
        )


if __name__ == "__main__":
    main()
