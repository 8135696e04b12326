"""Score-driven cues of the procedural conductor on an orchestral piece with known entries.

Builds a 21-bar 4/4 score with music21 (strings, woodwinds, horns; parts entering after rests at known bars and
beats, some ff, a fermata in bar 12), renders it with FluidSynth at a known tempo (so every entry's time is
exact), analyses the audio, gives the conductor a ScoreGuide read from the music21 score (entries after rests,
the fermata, the dynamics), and measures each cue in the motion (vconductor.metrics.cues: the performance with
and without that entry, same seed): when the gesture starts in beats before the entry, which hand, where it
points (+ = the conductor's left) against the seat (conducting/seating.py), and the head's turn. The summary:
the share of entries cued 0.3-1.0 beat before, and the share pointed to the seat's side.

    .venv/bin/python benchmarks/bench_cues.py [--bpm 76 92 132] [--seeds 0 1 2] [--beats tracked|true]
        [--save-dir DIR]   (writes the score as MusicXML, the audio, and each take's motion .npz)
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from vconductor.beat_data.render import synthesize, training_soundfonts
from vconductor.conducting import analyze, conduct
from vconductor.conducting.score_guide import Entry, ScoreGuide
from vconductor.conducting.seating import seat_of
from vconductor.conducting.tuning import SCORE_CUE_GROUP_S
from vconductor.metrics.cues import measure_cue, points_to

BARS = 21
FERMATA_BAR, FERMATA_HOLD_S, CAESURA_S = 12, 3.0, 0.6  # bar 12: a whole-note chord held, then a breath
LEVELS = {"pp": 0.2, "p": 0.35, "mp": 0.45, "mf": 0.55, "f": 0.7, "ff": 0.9}  # ScoreGuide's written levels
DYNAMICS = {1: "p", 5: "mf", 9: "f", 13: "ff", 19: "mf"}  # bar -> marking for every part
CHORDS = ["D", "G", "A", "D", "B-m", "G", "A7", "D"]  # one a bar, cycling (D major)
CHORD_PITCHES = {
    "D": (2, 6, 9),
    "G": (7, 11, 2),
    "A": (9, 1, 4),
    "A7": (9, 1, 7),
    "B-m": (11, 2, 6),
}  # pitch classes: root, third, fifth
# part name, music21 instrument class, register (lowest MIDI pitch), playing spans: (first bar, first beat, last bar)
PARTS = [
    ("Violin I", "Violin", 67, [(1, 1, 4), (7, 1, 12), (13, 1, 21)]),
    ("Violin II", "Violin", 60, [(3, 3, 12), (14, 1, 21)]),
    ("Viola", "Viola", 53, [(1, 1, 6), (9, 1, 12), (16, 3, 21)]),
    ("Violoncello", "Violoncello", 41, [(1, 1, 4), (6, 3, 12), (15, 1, 21)]),
    ("Contrabass", "Contrabass", 33, [(9, 1, 11), (13, 1, 21)]),
    ("Flute", "Flute", 74, [(5, 1, 8), (17, 3, 21)]),
    ("Oboe", "Oboe", 67, [(6, 1, 11), (18, 1, 21)]),
    ("Clarinet in B-flat", "Clarinet", 60, [(8, 1, 11), (14, 3, 21)]),
    ("Bassoon", "Bassoon", 45, [(10, 3, 11), (20, 1, 21)]),
    ("Horn in F", "Horn", 55, [(7, 3, 11), (13, 1, 21)]),
]


def build_score(bpm: float):
    """The music21 score: each part plays chord tones (strings in quarters, winds in halves) in its spans, rests
    elsewhere; the strings hold a fermata chord in bar 12."""
    from music21 import dynamics, expressions, instrument, meter, note, stream, tempo

    score = stream.Score()
    for name, kind, low, spans in PARTS:
        part = stream.Part()
        inst = getattr(instrument, kind)()
        inst.partName = name
        part.insert(0, inst)
        part.insert(0, meter.TimeSignature("4/4"))
        part.insert(0, tempo.MetronomeMark(number=bpm))
        step = 1.0 if kind in ("Violin", "Viola", "Violoncello", "Contrabass") else 2.0
        for first_bar, first_beat, last_bar in spans:
            start_q, end_q = 4 * (first_bar - 1) + (first_beat - 1), 4 * last_bar
            marked = max(b for b in DYNAMICS if b <= first_bar)
            part.insert(start_q, dynamics.Dynamic(DYNAMICS[marked]))
            q = start_q
            while q < end_q:
                bar = int(q // 4) + 1
                if bar == FERMATA_BAR:
                    if kind in ("Violin", "Viola", "Violoncello") and q == 4 * (bar - 1):
                        held = note.Note(_chord_tone(bar, low, 0), quarterLength=4.0)
                        held.expressions.append(expressions.Fermata())
                        part.insert(q, held)
                    q = 4.0 * bar
                    continue
                length = min(step, end_q - q, 4 * bar - q)
                part.insert(q, note.Note(_chord_tone(bar, low, int(q * 2)), quarterLength=length))
                q += length
        part.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=False)
        part.makeMeasures(inPlace=True)
        score.insert(0, part)
    return score


def _chord_tone(bar: int, low: int, index: int) -> int:
    classes = CHORD_PITCHES[CHORDS[(bar - 1) % len(CHORDS)]]
    pc = classes[index % 3]
    return low + (pc - low) % 12


def seconds(q: float, bpm: float, lead_in: float = 1.0) -> float:
    """The time of quarter `q`: in tempo, except that the fermata bar lasts FERMATA_HOLD_S and a caesura."""
    beat = 60.0 / bpm
    fermata_q = 4.0 * (FERMATA_BAR - 1)
    if q <= fermata_q:
        return lead_in + q * beat
    if q < fermata_q + 4:
        return lead_in + fermata_q * beat + (q - fermata_q) / 4 * FERMATA_HOLD_S
    return lead_in + fermata_q * beat + FERMATA_HOLD_S + CAESURA_S + (q - fermata_q - 4) * beat


def read_score(score, bpm: float):
    """What the score says, in seconds: entries (a note after a rest, or a part's first), the fermata,
    the dynamics; and every part's notes with MIDI program and velocity for the render."""
    from music21 import dynamics, expressions, instrument

    entries, notes = [], []
    fermatas = []
    for index, part in enumerate(score.parts):
        flat = part.flatten()
        inst = flat.getElementsByClass(instrument.Instrument).first()
        name, program = inst.partName, inst.midiProgram
        marks = sorted((d.offset, LEVELS[d.value]) for d in flat.getElementsByClass(dynamics.Dynamic))
        resting = True
        for event in flat.notesAndRests:
            q = float(event.offset)
            if event.isRest:
                resting = True
                continue
            level = max((lv for at, lv in marks if at <= q), default=0.55)
            if resting:
                entries.append(Entry(seconds(q, bpm), index, name, loud=level >= LEVELS["f"]))
            resting = False
            end = seconds(q + float(event.quarterLength), bpm) - 0.03
            if any(isinstance(x, expressions.Fermata) for x in event.expressions):
                end = seconds(q, bpm) + FERMATA_HOLD_S  # then the caesura
                fermatas.append((seconds(q, bpm), end))
            notes.append((program, event.pitch.midi, seconds(q, bpm), end, int(30 + 90 * level)))
    marks_q = sorted(DYNAMICS)
    dynamics_s = np.array([seconds(4.0 * (b - 1), bpm) for b in marks_q])
    guide = ScoreGuide(
        entries=tuple(sorted(entries, key=lambda e: e.time_s)),
        fermatas=tuple(sorted(set(fermatas))),
        dynamics_s=dynamics_s,
        dynamics=np.array([LEVELS[DYNAMICS[b]] for b in marks_q]),
        instruments=tuple(e.instrument for e in sorted(entries, key=lambda e: e.part)),
    )
    return guide, notes


def render(notes, seed: int = 0) -> tuple[np.ndarray, int]:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    tracks = {}
    for program, pitch, start, end, velocity in notes:
        if program not in tracks:
            tracks[program] = pretty_midi.Instrument(program=program)
            midi.instruments.append(tracks[program])
        tracks[program].notes.append(pretty_midi.Note(velocity, pitch, start, max(end, start + 0.05)))
    last = max(n.end for t in midi.instruments for n in t.notes)
    midi.instruments[0].control_changes.append(pretty_midi.ControlChange(3, 0, last + 1.5))
    fonts = training_soundfonts()
    if not fonts:
        sys.exit("bench_cues: no GM soundfont installed (musescore-general-soundfont or timgm6mb-soundfont)")
    audio, _ = synthesize(midi, fonts[0], np.random.default_rng(seed))
    return audio, 22050


def true_beats(bpm: float, duration_s: float):
    """The score's beats in seconds (none inside the fermata bar but its downbeat) and their place in the bar."""
    quarters = [q for q in range(4 * BARS + 1) if not (4 * (FERMATA_BAR - 1) < q < 4 * FERMATA_BAR)]
    times = np.array([seconds(q, bpm) for q in quarters])
    keep = times < duration_s
    return times[keep], (np.array(quarters) % 4)[keep]


def measure(analysis, guide: ScoreGuide, seed: int) -> list[tuple[Entry, list, bool]]:
    """Each entry's cue: the performance against the same one without the entries sounding with it (within
    SCORE_CUE_GROUP_S); and whether those entries sit on both sides (then the head's turn is not judged)."""
    n = len(analysis.loudness)
    cued = conduct(replace(analysis, score=guide), n, seed).keypoints3d
    rows = []
    for entry in guide.entries:
        together = [e for e in guide.entries if abs(e.time_s - entry.time_s) <= SCORE_CUE_GROUP_S]
        others = replace(guide, entries=tuple(e for e in guide.entries if e not in together))
        without = conduct(replace(analysis, score=others), n, seed).keypoints3d
        local = 60.0 / float(np.interp(entry.time_s, analysis.beats_s, analysis.tempo_bpm))
        sides = {seat_of(e.instrument).side for e in together} - {0}
        rows.append(
            (entry, measure_cue(cued, without, entry.time_s, local, analysis.frame_rate), len(sides) > 1)
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bpm", type=float, nargs="+", default=[76.0, 92.0, 132.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--beats", choices=("tracked", "true"), default="tracked")
    parser.add_argument("--save-dir", type=Path)
    args = parser.parse_args(argv)
    all_rows = []
    for bpm in args.bpm:
        t0 = time.perf_counter()
        score = build_score(bpm)
        guide, notes = read_score(score, bpm)
        audio, rate = render(notes)
        analysis = analyze((audio, rate), meter="4/4", frame_rate=30.0)
        if args.beats == "true":
            beats, in_bar = true_beats(bpm, analysis.duration_s)
            tempo = np.full(len(beats), bpm)
            analysis = replace(analysis, beats_s=beats, beat_in_bar=in_bar, tempo_bpm=tempo)
        print(
            f"\n== {bpm:g} BPM: {analysis.duration_s:.1f} s, {len(guide.entries)} entries, fermata "
            f"{guide.fermatas}, {args.beats} beats ({len(analysis.beats_s)}), {time.perf_counter() - t0:.1f} s"
        )
        if args.save_dir:
            _save(args.save_dir, bpm, score, audio, rate, analysis, guide, args.seeds[0])
        print(
            f"{'seed':>4} {'entry s':>7} {'part':<22} {'seat':>4}  {'hands':<10} {'lead':>5} {'points':>8} "
            f"{'head':>6}  (* parts entering on both sides: the head is not judged)"
        )
        for seed in args.seeds:
            for entry, cues, both_sides in measure(analysis, guide, seed):
                seat, main = seat_of(entry.instrument), cues[0]
                hand_ok = any(points_to(c.azimuth_deg, seat.azimuth_deg) for c in cues)
                head_ok = both_sides or points_to(main.head_yaw_deg, seat.azimuth_deg)
                in_time = 0.3 <= main.lead_beats <= 1.0
                all_rows.append((bpm, entry, main, in_time, hand_ok and head_ok))
                hands = "+".join(c.hand for c in cues)
                print(
                    f"{seed:>4} {entry.time_s:7.2f} {entry.instrument + (' ff' if entry.loud else ''):<22} "
                    f"{seat.azimuth_deg:+4.0f}  {hands:<10} {main.lead_beats:5.2f} "
                    f"{' '.join(f'{c.azimuth_deg:+.0f}' for c in cues):>8} {main.head_yaw_deg:+6.1f}"
                    f"{'*' if both_sides else ' '} {'ok' if hand_ok and head_ok else 'WRONG SIDE'}"
                    f"{'' if in_time else ' NOT 0.3-1.0 BEAT BEFORE'}"
                )
    in_time = np.mean([r[3] for r in all_rows])
    pointed = np.mean([r[4] for r in all_rows])
    cued = np.mean([r[2].hand != "none" for r in all_rows])
    leads = np.array([r[2].lead_beats for r in all_rows if r[2].hand != "none"])
    print(
        f"\nSUMMARY {len(all_rows)} entries x takes: cued {cued:.0%}; started 0.3-1.0 beat before {in_time:.0%} "
        f"(target >= 80%; lead median {np.median(leads):.2f}, 5-95% {np.percentile(leads, 5):.2f}-"
        f"{np.percentile(leads, 95):.2f} beats); pointed to the seat's side (hand and head) {pointed:.0%}"
    )
    return 0


def _save(folder: Path, bpm, score, audio, rate, analysis, guide, seed) -> None:
    import soundfile

    from vconductor.motion_io import Motion, save_motion

    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"cues_{bpm:g}bpm"
    score.write("musicxml", fp=str(stem.with_suffix(".musicxml")))
    soundfile.write(stem.with_suffix(".wav"), audio, rate)
    c = conduct(replace(analysis, score=guide), len(analysis.loudness), seed)
    motion = Motion(
        c.keypoints,
        analysis.duration_s,
        "procedural",
        seed,
        int(analysis.frame_rate),
        keypoints3d=c.keypoints3d,
        baton_tip=c.baton_tip,
    )
    save_motion(motion, stem.with_suffix(".npz"))


if __name__ == "__main__":
    sys.exit(main())
