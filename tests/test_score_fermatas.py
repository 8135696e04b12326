"""Fermatas from a user's score (issue 15): a chorale excerpt rendered with FluidSynth with its fermatas held
about 3 s by the tempo map; the ScoreGuide's fermatas against the beats the conductor is given."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
needs_fluidsynth = pytest.mark.skipif(
    fluidsynth_executable() is None or not SOUNDFONT.is_file(), reason="needs fluidsynth and TimGM6mb.sf2"
)
HOLD_S = 3.0


def held_fermatas(timeline, hold_s: float):
    """The score's nominal tempo map with every fermata's notes held `hold_s` seconds."""
    from vconductor.beat_data.score_renders import nominal_tempo_map
    from vconductor.beat_data.tempo_map import TempoMap

    nominal = nominal_tempo_map(timeline)
    steps = np.diff(nominal.grid_s)
    middle = (nominal.grid_q[1:] + nominal.grid_q[:-1]) / 2
    for start, end in timeline.fermatas:
        inside = (middle >= start) & (middle < end)
        steps[inside] *= hold_s / steps[inside].sum()
    return TempoMap(nominal.grid_q, nominal.grid_s[0] + np.r_[0.0, np.cumsum(steps)])


@pytest.fixture(scope="module")
def chorale(tmp_path_factory):
    """(timeline, audio path): BWV 26.6's first six bars (four fermatas), each fermata held 3 s."""
    import music21

    from vconductor.beat_data.score_renders import render
    from vconductor.scores.reading import read_score_file

    folder = tmp_path_factory.mktemp("fermatas")
    score = folder / "bwv26.6.musicxml"
    music21.corpus.parse("bach/bwv26.6").measures(0, 6).write("musicxml", fp=str(score))
    timeline = read_score_file(score)
    take = render(timeline, held_fermatas(timeline, HOLD_S), SOUNDFONT, seed=2)
    audio = folder / "bwv26.6-held.wav"
    soundfile.write(audio, take.samples, 22050)
    return timeline, audio


@needs_fluidsynth
def test_the_guides_fermatas_are_timed_by_the_conducted_beats(chorale):
    """A fermata's hold and release are the given beats at its score positions: the conductor's cut-off and
    the next beat's preparation agree (the alignment's own map lay 0.26-0.30 s off the placed beats here)."""
    from vconductor.beat_sources import BeatSource
    from vconductor.pipeline import prepare_input
    from vconductor.scores.source import ScoreSource

    timeline, audio = chorale
    prepared = prepare_input(
        audio, needs="analysis", meter=None, beats=BeatSource(score=ScoreSource(timeline))
    )
    beats_s, beats_q = prepared.beats.beats_s, timeline.labels.beats_q
    assert len(beats_s) == len(beats_q)
    fermatas = prepared.analysis.score.fermatas
    inner = [(a, b) for a, b in timeline.fermatas if b < beats_q[-1]]  # released into a following beat
    assert len(fermatas) == len(timeline.fermatas) and len(inner) >= 3
    for (start_q, end_q), (start_s, release_s) in zip(timeline.fermatas, fermatas, strict=False):
        if end_q >= beats_q[-1]:
            continue
        assert start_s == pytest.approx(float(np.interp(start_q, beats_q, beats_s)), abs=1e-3)
        assert release_s == pytest.approx(float(np.interp(end_q, beats_q, beats_s)), abs=1e-3)


@needs_fluidsynth
def test_a_held_final_fermata_is_cut_off_when_the_sound_stops(chorale):
    """The last chord's fermata held 3 s, 2 s past its written length: the hand holds until the sound stops,
    then cuts off (it waited at most 1 s past the written release and cut off under the chord, 2.0 s early)."""
    from vconductor.beat_data.score_renders import LEAD_IN_S
    from vconductor.beat_sources import BeatSource
    from vconductor.contract import FPS, RIGHT_WRIST
    from vconductor.pipeline import ProceduralConductor, prepare_input, run
    from vconductor.scores.source import ScoreSource

    timeline, audio = chorale
    tempo = held_fermatas(timeline, HOLD_S)
    start_q, end_q = timeline.fermatas[-1]
    assert end_q >= timeline.labels.beats_q[-1]  # the final chord
    origin = float(tempo.seconds(0.0)) - LEAD_IN_S
    release = float(tempo.seconds(end_q)) - origin
    prepared = prepare_input(audio, needs="analysis", beats=BeatSource(score=ScoreSource(timeline)))
    assert prepared.score["case"] == "rendered"
    # the inner holds are reported (quarter and half notes held 3 s); the final one has no onset after it
    assert [round(extra, 1) for _, _, extra in prepared.score["holds"]] == [2.5, 2.5, 2.0]
    right = run(prepared, ProceduralConductor()).keypoints[:, RIGHT_WRIST].astype(float)
    speed = np.linalg.norm(np.diff(right, axis=0), axis=1) * FPS
    held = slice(int((release - 1.5) * FPS), int((release - 0.6) * FPS))
    assert speed[held].max() < 0.05, speed[held].max()  # still holding the chord
    cut = slice(int((release - 0.6) * FPS), int((release + 0.3) * FPS))
    assert speed[cut].max() > 0.4  # the cut-off, as the sound stops
