"""Score-driven cues of the procedural conductor on orchestral pieces with known entries.

Builds two scores with music21 (an "overture", 21 bars of 4/4 for strings, woodwinds and horns; a "waltz",
26 bars of 3/4 adding harp, trumpet and timpani, its parts named in Italian and German; parts enter after rests
on every beat of the bar, some ff; the strings hold a fermata), renders each with FluidSynth at three known
tempi (so every entry's time is exact), analyses the audio, gives the conductor a ScoreGuide read from the
music21 score (entries after rests, the fermata, the dynamics), and measures each cue in the motion
(vconductor.metrics.cues: the take with and without that entry, same seed): when the gesture starts in beats
before the entry, which hand, where it points (+ = the conductor's left) against the seat
(conducting/seating.py), and the head's turn. The summary: the share of entries cued 0.3-1.0 beat before, and
the share pointed to the seat's side.

    .venv/bin/python benchmarks/bench_cues.py [--piece overture waltz] [--bpm ...] [--seeds 0 1 2]
        [--beats tracked|true|reader]   (tracked: the beat tracker's beats and a ScoreGuide read here from the
        music21 score; true: the score's beats; reader: the MusicXML through vconductor.scores, as the CLI's
        --score does, its beats and its ScoreGuide)
        [--save-dir DIR]   (writes the score as MusicXML, the audio, and each take's motion .npz)
"""

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vconductor.beat_data.render import synthesize, training_soundfonts
from vconductor.conducting import analyze, conduct
from vconductor.conducting.score_guide import Entry, ScoreGuide
from vconductor.conducting.seating import seat_of
from vconductor.conducting.tuning import SCORE_CUE_GROUP_S
from vconductor.metrics.cues import measure_cue, points_to

LEVELS = {"pp": 0.2, "p": 0.35, "mp": 0.45, "mf": 0.55, "f": 0.7, "ff": 0.9}  # ScoreGuide's written levels
FERMATA_HOLD_S, CAESURA_S = 3.0, 0.6  # the fermata chord is held this long, then a breath
PITCH_CLASSES = {
    "D": (2, 6, 9),
    "G": (7, 11, 2),
    "A": (9, 1, 4),
    "A7": (9, 1, 7),
    "Bm": (11, 2, 6),
    "C": (0, 4, 7),
    "Em": (4, 7, 11),
    "Am": (9, 0, 4),
    "D7": (2, 6, 0),
}  # root, third, fifth/7th
STRINGS = ("Violin", "Viola", "Violoncello", "Contrabass", "Harp", "Timpani")  # play a note every beat


@dataclass(frozen=True)
class Piece:
    per_bar: int  # quarter-note beats per bar
    bars: int
    fermata_bar: int  # the strings hold a fermata chord on its downbeat for the whole bar
    dynamics: dict  # bar -> marking, for every part
    chords: tuple  # one a bar, cycling
    parts: (
        tuple  # (part name, music21 instrument class, lowest MIDI pitch, spans (first bar, beat, last bar))
    )
    tempi: tuple  # BPM the benchmark renders it at


PIECES = {
    "overture": Piece(
        4,
        21,
        12,
        {1: "p", 5: "mf", 9: "f", 13: "ff", 19: "mf"},
        ("D", "G", "A", "D", "Bm", "G", "A7", "D"),
        (
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
        ),
        (76.0, 92.0, 132.0),
    ),
    "waltz": Piece(
        3,
        26,
        17,
        {1: "pp", 6: "mp", 11: "mf", 15: "f", 18: "ff", 23: "p"},
        ("G", "C", "D", "G", "Em", "Am", "D7", "G"),
        (
            ("Violino I", "Violin", 67, [(1, 1, 8), (11, 2, 17), (18, 1, 26)]),
            ("Violino II", "Violin", 62, [(3, 2, 17), (19, 3, 26)]),
            ("Viola", "Viola", 55, [(1, 1, 5), (9, 1, 17), (21, 1, 26)]),
            ("Violoncello", "Violoncello", 43, [(1, 1, 6), (10, 3, 17), (18, 1, 26)]),
            ("Kontrabass", "Contrabass", 31, [(5, 1, 9), (18, 1, 26)]),
            ("Harfe", "Harp", 55, [(7, 2, 12), (22, 2, 26)]),
            ("Flauto", "Flute", 74, [(4, 3, 9), (20, 1, 26)]),
            ("Oboe", "Oboe", 69, [(8, 1, 14), (23, 2, 26)]),
            ("Clarinetto in Si b", "Clarinet", 62, [(12, 1, 17), (19, 1, 26)]),
            ("Fagotto", "Bassoon", 43, [(13, 3, 17), (24, 1, 26)]),
            ("Corno in F", "Horn", 55, [(6, 1, 11), (18, 1, 26)]),
            ("Trompete in B", "Trumpet", 60, [(15, 1, 16), (20, 1, 26)]),
            ("Pauken", "Timpani", 43, [(16, 1, 16), (25, 1, 26)]),
        ),
        (84.0, 112.0, 144.0),
    ),
}


def build_score(piece: Piece, bpm: float):
    """The music21 score: each part plays chord tones (strings a note a beat, winds a note a bar) in its spans,
    rests elsewhere; the strings hold a fermata chord through `piece.fermata_bar`."""
    from music21 import dynamics, expressions, instrument, meter, note, stream, tempo

    score = stream.Score()
    n = piece.per_bar
    for name, kind, low, spans in piece.parts:
        part = stream.Part()
        inst = getattr(instrument, kind)()
        inst.partName = name
        part.insert(0, inst)
        part.insert(0, meter.TimeSignature(f"{n}/4"))
        part.insert(0, tempo.MetronomeMark(number=bpm))
        step = 1.0 if kind in STRINGS else float(n)
        for first_bar, first_beat, last_bar in spans:
            start_q, end_q = n * (first_bar - 1) + (first_beat - 1), n * last_bar
            marked = max(b for b in piece.dynamics if b <= first_bar)
            part.insert(start_q, dynamics.Dynamic(piece.dynamics[marked]))
            q = start_q
            while q < end_q:
                bar = int(q // n) + 1
                if bar == piece.fermata_bar:
                    if kind in ("Violin", "Viola", "Violoncello") and q == n * (bar - 1):
                        held = note.Note(_chord_tone(piece, bar, low, 0), quarterLength=float(n))
                        held.expressions.append(expressions.Fermata())
                        part.insert(q, held)
                    q = float(n * bar)
                    continue
                length = min(step, end_q - q, n * bar - q)
                part.insert(q, note.Note(_chord_tone(piece, bar, low, int(q * 2)), quarterLength=length))
                q += length
        part.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=False)
        part.makeMeasures(inPlace=True)
        part.makeTies(inPlace=True)  # rests and notes split at the barlines
        score.insert(0, part)
    return score


def _chord_tone(piece: Piece, bar: int, low: int, index: int) -> int:
    classes = PITCH_CLASSES[piece.chords[(bar - 1) % len(piece.chords)]]
    return low + (classes[index % 3] - low) % 12


def seconds(piece: Piece, q: float, bpm: float, lead_in: float = 1.0) -> float:
    """The time of quarter `q`: in tempo, except that the fermata bar lasts FERMATA_HOLD_S and a caesura."""
    beat, bar_q = 60.0 / bpm, float(piece.per_bar)
    fermata_q = bar_q * (piece.fermata_bar - 1)
    if q <= fermata_q:
        return lead_in + q * beat
    if q < fermata_q + bar_q:
        return lead_in + fermata_q * beat + (q - fermata_q) / bar_q * FERMATA_HOLD_S
    return lead_in + fermata_q * beat + FERMATA_HOLD_S + CAESURA_S + (q - fermata_q - bar_q) * beat


def read_score(piece: Piece, score, bpm: float):
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
            level = next((lv for at, lv in reversed(marks) if at <= q), 0.55)  # the latest marking
            if resting:
                entries.append(Entry(seconds(piece, q, bpm), index, name, loud=level >= LEVELS["f"]))
            resting = False
            end = seconds(piece, q + float(event.quarterLength), bpm) - 0.03
            if any(isinstance(x, expressions.Fermata) for x in event.expressions):
                end = seconds(piece, q, bpm) + FERMATA_HOLD_S  # then the caesura
                fermatas.append((seconds(piece, q, bpm), end))
            notes.append((program, event.pitch.midi, seconds(piece, q, bpm), end, int(30 + 90 * level)))
    marks_q = sorted(piece.dynamics)
    dynamics_s = np.array([seconds(piece, piece.per_bar * (b - 1.0), bpm) for b in marks_q])
    guide = ScoreGuide(
        entries=tuple(sorted(entries, key=lambda e: e.time_s)),
        fermatas=tuple(sorted(set(fermatas))),
        dynamics_s=dynamics_s,
        dynamics=np.array([LEVELS[piece.dynamics[b]] for b in marks_q]),
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


def true_beats(piece: Piece, bpm: float, duration_s: float):
    """The score's beats in seconds (none inside the fermata bar but its downbeat) and their place in the bar."""
    n, fermata_q = piece.per_bar, piece.per_bar * (piece.fermata_bar - 1)
    quarters = np.array([q for q in range(n * piece.bars + 1) if not fermata_q < q < fermata_q + n])
    times = np.array([seconds(piece, q, bpm) for q in quarters])
    keep = times < duration_s
    return times[keep], (quarters % n)[keep]


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
    parser.add_argument("--piece", choices=tuple(PIECES), nargs="+", default=list(PIECES))
    parser.add_argument("--bpm", type=float, nargs="+", help="tempi to render (default: each piece's three)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--beats", choices=("tracked", "true", "reader"), default="tracked")
    parser.add_argument("--save-dir", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for name in args.piece:
        piece = PIECES[name]
        for bpm in args.bpm or piece.tempi:
            rows += _take(name, piece, bpm, args)
    in_time = np.mean([r[2] for r in rows])
    pointed = np.mean([r[3] for r in rows])
    cued = np.mean([r[1].hand != "none" for r in rows])
    leads = np.array([r[1].lead_beats for r in rows if r[1].hand != "none"])
    print(
        f"\nSUMMARY {len(rows)} entries x takes ({', '.join(args.piece)}; {args.beats} beats): cued {cued:.1%}; "
        f"started 0.3-1.0 beat before {in_time:.1%} (target >= 80%; lead median {np.median(leads):.2f}, "
        f"5-95% {np.percentile(leads, 5):.2f}-{np.percentile(leads, 95):.2f} beats); "
        f"pointed to the seat's side (hand and head) {pointed:.1%}"
    )
    return 0


def _take(name: str, piece: Piece, bpm: float, args) -> list[tuple]:
    """Render one piece at one tempo, conduct it with each seed, print and return each entry's cue."""
    t0 = time.perf_counter()
    score = build_score(piece, bpm)
    guide, notes = read_score(piece, score, bpm)
    audio, rate = render(notes)
    analysis = analyze((audio, rate), meter=f"{piece.per_bar}/4", frame_rate=30.0)
    if args.beats == "reader":  # the score as a user gives it: MusicXML read and aligned by vconductor.scores
        analysis, guide = _through_the_reader(score, audio, rate)
    elif args.beats == "true":
        beats, in_bar = true_beats(piece, bpm, analysis.duration_s)
        analysis = replace(analysis, beats_s=beats, beat_in_bar=in_bar, tempo_bpm=np.full(len(beats), bpm))
    fermata = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in guide.fermatas)
    print(
        f"\n== {name} {piece.per_bar}/4 at {bpm:g} BPM: {analysis.duration_s:.1f} s, {len(guide.entries)} entries, "
        f"fermata {fermata}; {args.beats} beats: {len(analysis.beats_s)} (median "
        f"{60 / np.median(np.diff(analysis.beats_s)):.0f} BPM); {time.perf_counter() - t0:.1f} s"
    )
    if args.save_dir:
        _save(args.save_dir / f"{name}_{bpm:g}bpm", score, audio, rate, analysis, guide, args.seeds[0])
    print(
        f"{'seed':>4} {'entry s':>7} {'part':<22} {'seat':>4}  {'hands':<10} {'lead':>5} {'points':>8} "
        f"{'head':>6}  (* parts entering on both sides: the head is not judged)"
    )
    rows = []
    for seed in args.seeds:
        for entry, cues, both_sides in measure(analysis, guide, seed):
            seat, main = seat_of(entry.instrument), cues[0]
            hand_ok = any(points_to(c.azimuth_deg, seat.azimuth_deg) for c in cues)
            head_ok = both_sides or points_to(main.head_yaw_deg, seat.azimuth_deg)
            in_time = 0.3 <= main.lead_beats <= 1.0
            rows.append((entry, main, in_time, hand_ok and head_ok))
            print(
                f"{seed:>4} {entry.time_s:7.2f} {entry.instrument + (' ff' if entry.loud else ''):<22} "
                f"{seat.azimuth_deg:+4.0f}  {'+'.join(c.hand for c in cues):<10} {main.lead_beats:5.2f} "
                f"{' '.join(f'{c.azimuth_deg:+.0f}' for c in cues):>8} {main.head_yaw_deg:+6.1f}"
                f"{'*' if both_sides else ' '} {'ok' if hand_ok and head_ok else 'WRONG SIDE'}"
                f"{'' if in_time else ' NOT 0.3-1.0 BEAT BEFORE'}"
            )
    return rows


def _through_the_reader(score, audio, rate):
    """The analysis and ScoreGuide that `vconductor generate AUDIO --score S` conducts from."""
    import tempfile

    import soundfile

    from vconductor.beat_sources import BeatSource
    from vconductor.pipeline import prepare_input
    from vconductor.scores.reading import read_score_file
    from vconductor.scores.source import ScoreSource

    with tempfile.TemporaryDirectory() as folder:
        xml, wav = Path(folder) / "score.musicxml", Path(folder) / "audio.wav"
        score.write("musicxml", fp=str(xml))
        soundfile.write(wav, audio, rate)
        source = BeatSource(score=ScoreSource(read_score_file(str(xml)), "error"))
        prepared = prepare_input(str(wav), needs="analysis", beats=source)
    print(f"   reader: {prepared.score.get('case')} (confidence {prepared.score.get('confidence')})")
    return prepared.analysis, prepared.analysis.score


def _save(stem: Path, score, audio, rate, analysis, guide, seed) -> None:
    import soundfile

    from vconductor.motion_io import Motion, save_motion

    stem.parent.mkdir(parents=True, exist_ok=True)
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
