"""The procedural conductor with a score (MusicAnalysis.score, a ScoreGuide built by hand here) on real audio:
the bundled Ode to Joy and a short orchestral piece rendered with FluidSynth that has a fermata in the middle.
Cues are measured in the motion (vconductor.metrics.cues: the same take with and without the entry)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vconductor.conducting import ConductorConfig, MusicAnalysis, analyze, conduct
from vconductor.conducting.score_guide import Entry, ScoreGuide
from vconductor.conducting.seating import seat_of
from vconductor.conducting.tuning import FERMATA_HOLD_Y
from vconductor.metrics.cues import measure_cue, points_to
from vconductor.skeleton import JOINT

REPO = Path(__file__).resolve().parents[1]
FPS = 30
R_WRIST, L_WRIST = JOINT["right_wrist"], JOINT["left_wrist"]

# The rendered piece: 4/4 at 100 BPM from 1 s; bar 5's chord is held (a fermata) 2.4 s, then a 0.5 s breath.
BPM, LEAD_IN, FERMATA_BAR, HOLD_S, CAESURA_S = 100.0, 1.0, 5, 2.4, 0.5


def bar_time(bar: int, beat: float = 1.0) -> float:
    q = 4 * (bar - 1) + (beat - 1)
    fermata_q = 4 * (FERMATA_BAR - 1)
    if q <= fermata_q:
        return LEAD_IN + q * 60 / BPM
    return LEAD_IN + fermata_q * 60 / BPM + HOLD_S + CAESURA_S + (q - fermata_q - 4) * 60 / BPM


FERMATA = (bar_time(FERMATA_BAR), bar_time(FERMATA_BAR) + HOLD_S)
# (name, GM program, pitches of the chord tones it cycles through, first bar/beat of each span, last bar)
PIECE = [
    ("Violin I", 40, (74, 76, 78, 79), [(1, 1, 9)]),
    ("Viola", 41, (62, 66, 64, 62), [(1, 1, 9)]),
    ("Flute", 73, (81, 83, 85, 86), [(3, 3, 5), (8, 1, 9)]),
    ("Violoncello", 42, (50, 43, 45, 50), [(1, 1, 2), (7, 1, 9)]),
    ("Horn in F", 60, (62, 67, 69, 66), [(6, 3, 9)]),
]
ENTRIES = (
    Entry(bar_time(3, 3), 2, "Flute"),
    Entry(bar_time(6, 3), 4, "Horn in F"),
    Entry(bar_time(7), 3, "Violoncello"),
    Entry(bar_time(8), 2, "Flute"),
)


def render_piece() -> tuple[np.ndarray, int]:
    pretty_midi = pytest.importorskip("pretty_midi")
    from vconductor.beat_data.render import RenderError, synthesize, training_soundfonts

    midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=BPM)
    for name, program, pitches, spans in PIECE:
        track = pretty_midi.Instrument(program=program, name=name)
        for first_bar, first_beat, last_bar in spans:
            q = 4 * (first_bar - 1) + first_beat - 1
            while q < 4 * last_bar:
                bar = int(q // 4) + 1
                start, beats = bar_time(bar, q % 4 + 1), 1.0
                if bar == FERMATA_BAR:  # the held chord
                    start, beats = bar_time(bar), 4.0
                end = start + HOLD_S if bar == FERMATA_BAR else start + 0.95 * 60 / BPM
                pitch = pitches[int(q) % len(pitches)]
                track.notes.append(pretty_midi.Note(70, pitch, start, end))
                q += beats if bar == FERMATA_BAR else 1
        midi.instruments.append(track)
    midi.instruments[0].control_changes.append(pretty_midi.ControlChange(3, 0, bar_time(10) + 1.5))
    fonts = training_soundfonts()
    if not fonts:
        pytest.skip("no GM soundfont for FluidSynth (musescore-general-soundfont or timgm6mb-soundfont)")
    try:
        audio, _ = synthesize(midi, fonts[0], np.random.default_rng(0))
    except RenderError as exc:
        pytest.skip(str(exc))
    return audio, 22050


@pytest.fixture(scope="module")
def piece() -> MusicAnalysis:
    return analyze(render_piece(), meter="4/4", frame_rate=FPS)


@pytest.fixture(scope="module")
def ode() -> MusicAnalysis:
    return analyze(REPO / "examples" / "ode_to_joy.ogg", meter="4/4", frame_rate=FPS)


def guide(**fields) -> ScoreGuide:
    return ScoreGuide(**{"entries": ENTRIES, "fermatas": (FERMATA,), **fields})


def take(analysis: MusicAnalysis, score: ScoreGuide | None, seed: int = 0, **config):
    config = ConductorConfig(**config) if config else None
    return conduct(replace(analysis, score=score), len(analysis.loudness), seed, config)


def local_period(analysis: MusicAnalysis, time_s: float) -> float:
    return 60.0 / float(np.interp(time_s, analysis.beats_s, analysis.tempo_bpm))


@pytest.mark.parametrize("seed", [0, 3])
def test_cues_start_before_each_entry_and_point_to_the_section(piece, seed):
    score = guide()
    cued = take(piece, score, seed).keypoints3d
    for entry in score.entries:
        without = take(piece, replace(score, entries=tuple(e for e in score.entries if e != entry)), seed)
        cue = measure_cue(cued, without.keypoints3d, entry.time_s, local_period(piece, entry.time_s), FPS)[0]
        seat = seat_of(entry.instrument)
        assert cue.hand != "none", entry
        assert 0.3 <= cue.lead_beats <= 1.0, (entry, cue)
        assert points_to(cue.azimuth_deg, seat.azimuth_deg), (entry, cue)
        assert points_to(cue.head_yaw_deg, seat.azimuth_deg), (entry, cue)


def test_cues_go_to_both_sides_and_a_loud_entry_to_the_baton(piece):
    """The cellos (conductor's right) are cued across the body, the violins (left) out to the left; a loud
    entry moves the baton's pattern (the right hand) instead of the left hand."""
    cello = Entry(bar_time(7), 3, "Violoncello")
    violins = Entry(bar_time(7), 0, "Violin I")
    plain = take(piece, guide(entries=(Entry(bar_time(3, 3), 2, "Flute"),)))
    frame = int(bar_time(7) * FPS)
    to_cellos = take(piece, guide(entries=(cello,))).keypoints3d
    to_violins = take(piece, guide(entries=(violins,))).keypoints3d
    assert to_cellos[frame, L_WRIST, 0] < plain.keypoints3d[frame, L_WRIST, 0] - 0.08
    assert to_violins[frame, L_WRIST, 0] > plain.keypoints3d[frame, L_WRIST, 0] + 0.05
    loud = take(piece, guide(entries=(replace(cello, loud=True),))).keypoints3d
    moved = np.abs(loud[frame] - plain.keypoints3d[frame]).max(axis=1)
    assert moved[R_WRIST] > 0.03 and moved[L_WRIST] < 0.01
    assert loud[frame, R_WRIST, 0] < plain.keypoints3d[frame, R_WRIST, 0]  # towards the cellos


def test_fermata_holds_then_cuts_off_at_the_release_and_prepares_the_next_beat(piece):
    start, release = FERMATA
    motion = take(piece, guide()).keypoints
    right = motion[:, R_WRIST].astype(float)
    speed = np.linalg.norm(np.diff(right, axis=0), axis=1) * FPS
    held = slice(int((start + 1.0) * FPS), int((release - 0.6) * FPS))
    assert speed[held].max() < 0.05  # the pattern stops: held (a beat moves ~1/s)
    assert right[held, 1].max() <= FERMATA_HOLD_Y + 1e-6  # raised: at or above the chest, not at the waist
    assert right[held, 1].mean() < np.median(right[int(start * FPS) - 60 : int(start * FPS), 1])
    cut = slice(int((release - 0.5) * FPS), int((release + 0.1) * FPS))
    assert speed[cut].max() > 0.4  # a clear cut-off gesture ...
    closing = int(release * FPS) - 3 + int(np.argmin(speed[int(release * FPS) - 3 : int(release * FPS) + 3]))
    assert abs(closing / FPS - release) < 0.12  # ... that closes on the release
    next_beat = bar_time(FERMATA_BAR + 1)
    between = right[int(release * FPS) : int(next_beat * FPS) + 1, 1]
    assert between[-1] - between.min() > 0.03  # the preparation: up, then down into the next beat
    left = motion[held, L_WRIST].astype(float)
    assert np.abs(np.diff(left, axis=0)).max() < 0.01  # the left hand sustains too


def test_the_final_fermata_is_held_up_then_cut_off(ode):
    """The example's last chord (a fermata, 27.675-29.875 s): the hands rise to the chest and hold there
    while it sounds (they sank to the waist, 0.56), then the cut-off loop closes by the end
    of the sound (its decay read as silence: 30.27 s)."""
    motion = take(ode, ScoreGuide(fermatas=((27.675, 29.875),))).keypoints
    right = motion[:, R_WRIST].astype(float)
    held = slice(int(28.5 * FPS), int(29.5 * FPS))
    assert right[held, 1].max() <= FERMATA_HOLD_Y + 1e-6
    speed = np.linalg.norm(np.diff(right, axis=0), axis=1) * FPS
    assert speed[held].max() < 0.05
    assert speed[int(29.5 * FPS) : int(30.5 * FPS)].max() > 0.2  # the cut-off


def test_a_fermata_released_before_the_next_beat_in_the_audio_is_cut_off_there(piece):
    """The score's fermata runs into the next beat, the players release 0.5 s before it (a caesura): the
    cut-off closes on the audio's release, not a plain preparation from the held hand into the beat."""
    start, release = FERMATA
    next_beat = bar_time(FERMATA_BAR + 1)
    right = take(piece, guide(fermatas=((start, next_beat),))).keypoints[:, R_WRIST].astype(float)
    speed = np.linalg.norm(np.diff(right, axis=0), axis=1) * FPS
    near = np.arange(int((release - 0.05) * FPS), int((release + 0.25) * FPS))
    closing = near[np.argmin(speed[near])]  # the loop closes with the audio's release (its decay: +0.13 s)
    assert speed[closing] < 0.1, speed[near]
    assert speed[closing - int(0.5 * FPS) : closing].max() > 0.5  # after a clear cut-off loop
    assert bar_time(FERMATA_BAR + 1) - closing / FPS > 0.25  # then a preparation into the next beat


def test_louder_written_dynamics_give_larger_gestures(ode):
    """The same recording with pp, mf, ff written throughout: the right hand's rise and fall in each beat (the
    median over 3-24 s) grows with the written level; staccato makes it smaller."""

    def beat_size(level: float, staccato: float = 0.0) -> float:
        score = ScoreGuide(
            dynamics_s=np.array([0.0, 40.0]), dynamics=np.full(2, level), staccato=np.full(2, staccato)
        )
        y = take(ode, score).keypoints[:, R_WRIST, 1]
        beats = ode.beats_s[(ode.beats_s > 3) & (ode.beats_s < 24)]
        return float(
            np.median(
                [
                    np.ptp(y[int(a * FPS) : int(b * FPS) + 1])
                    for a, b in zip(beats[:-1], beats[1:], strict=True)
                ]
            )
        )

    pp, mf, ff = beat_size(0.2), beat_size(0.55), beat_size(0.9)
    # measured 0.125, 0.185, 0.218: at 104 BPM ff is near the largest a beat this fast may be (size_per_second)
    assert pp < 0.8 * mf and mf < 0.95 * ff and ff > 1.5 * pp
    assert beat_size(0.55, staccato=1.0) < 0.85 * mf  # measured 0.138


def test_a_written_crescendo_lifts_the_left_hand(ode):
    """p for bars 1-4, a hairpin to f over bars 5-8 (9.8-19.1 s), f after; the heard crescendo of the
    recording is the same in both takes, only the written one differs."""
    flat = ScoreGuide(dynamics_s=np.array([0.6, 30.0]), dynamics=np.array([0.45, 0.45]))
    hairpin = ScoreGuide(
        dynamics_s=np.array([0.6, 9.83, 19.06, 30.0]), dynamics=np.array([0.35, 0.35, 0.7, 0.7])
    )
    left_flat = take(ode, flat).keypoints[:, L_WRIST, 1]
    left_hairpin = take(ode, hairpin).keypoints[:, L_WRIST, 1]
    during = slice(int(12 * FPS), int(18 * FPS))
    assert np.median(left_hairpin[during]) < np.median(left_flat[during]) - 0.02  # lifted (y is down)


def test_a_guide_with_nothing_in_it_conducts_exactly_as_no_guide():
    """A score that marks no entries, fermatas or dynamics changes nothing: the motion (3D, 2D and baton tip)
    is the one the conductor gives without a score, over tempo, loudness, a rest, phrases and onsets."""
    for meter, seed in (("3/4", 0), ("4/4", 0), ("4/4", 7)):
        analysis = reference_analysis(meter)
        without, empty = take(analysis, None, seed), take(analysis, ScoreGuide(), seed)
        np.testing.assert_array_equal(empty.keypoints3d, without.keypoints3d)
        np.testing.assert_array_equal(empty.keypoints, without.keypoints)
        np.testing.assert_array_equal(empty.baton_tip, without.baton_tip)


def test_a_score_without_entries_keeps_the_audio_cues(ode):
    empty = take(ode, ScoreGuide(), seed=2)
    none = take(ode, None, seed=2)
    np.testing.assert_array_equal(empty.keypoints3d, none.keypoints3d)


@pytest.mark.parametrize(
    ("name", "section", "side"),
    [
        ("Violin I", "violins 1", 1),
        ("Vln. 2", "violins 2", 1),
        ("Violino II", "violins 2", 1),
        ("Viola", "violas", -1),
        ("Bratsche", "violas", -1),
        ("Violoncello", "cellos", -1),
        ("Cello", "cellos", -1),
        ("Contrabass", "basses", -1),
        ("Kontrabass", "basses", -1),
        ("Flauto", "flutes", 0),
        ("Flöte", "flutes", 0),
        ("English Horn", "oboes", 0),
        ("Cor anglais", "oboes", 0),
        ("Horn in F", "horns", 1),
        ("Cor", "horns", 1),
        ("French Horn", "horns", 1),
        ("Trompete", "brass", 0),
        ("Pauken", "timpani and percussion", 0),
        ("Contrabassoon", "bassoons", 0),
        ("Orchestral Harp", "harp and keyboards", 1),
        ("String Ensemble 1", "centre", 0),
        ("", "centre", 0),
    ],
)
def test_seating(name, section, side):
    seat = seat_of(name)
    assert (seat.section, seat.side) == (section, side)
    assert np.isclose(np.linalg.norm(seat.direction), 1.0)


def reference_analysis(meter: str, seconds: float = 24.0) -> MusicAnalysis:
    """Everything the conductor follows varies: tempo, loudness, articulation, a rest, phrases, onsets."""
    n = int(seconds * FPS)
    t = np.arange(n) / FPS
    beats = [1.0]
    while beats[-1] < seconds - 3:
        beats.append(beats[-1] + 0.6 + 0.1 * np.sin(beats[-1] / 3))
    beats = np.array([b for b in beats if not 11.0 < b < 13.5])
    silent = (t < 0.95) | (t > beats[-1] + 0.6) | ((t > 10.9) & (t < 13.4))
    onset = np.zeros(n, np.float32)
    onset[[int(13.5 * FPS), int(18 * FPS)]] = 1.0
    return MusicAnalysis(
        duration_s=seconds,
        beats_s=beats,
        beat_in_bar=np.arange(len(beats)) % {"3/4": 3, "4/4": 4}[meter],
        meter=meter,
        tempo_bpm=60.0 / np.gradient(beats),
        loudness=np.where(silent, 0.0, 0.55 + 0.35 * np.sin(t / 4) ** 2).astype(np.float32),
        onset_strength=onset,
        articulation=(0.5 + 0.4 * np.sin(t / 2.5)).astype(np.float32),
        silent=silent,
        phrase_starts_s=np.array([7.0, 13.5, 19.0]),
    )


def test_odd_scores_give_finite_motion(ode):
    """Entries and marks a reader should not send, but might: not numbers, out of order, outside the music,
    a fermata ending before it starts, unknown instruments, mismatched staccato."""
    odd = ScoreGuide(
        entries=(
            Entry(np.nan, 0, "Violin I"),
            Entry(-5.0, 1, "???"),
            Entry(1e6, 2, ""),
            Entry(12.0, 3, "Tuba"),
        ),
        fermatas=((20.0, 19.0), (np.nan, 3.0), (-1.0, 0.5), (31.0, 1e9)),
        dynamics_s=np.array([30.0, np.nan, 0.0, 10.0, 10.0]),
        dynamics=np.array([0.9, 0.5, np.inf, 0.2, 0.8]),
        staccato=np.array([0.0, 1.0]),
    )
    for seed in (0, 1):
        conducted = take(ode, odd, seed)
        assert np.isfinite(conducted.keypoints3d).all() and np.isfinite(conducted.baton_tip).all()
