"""Written dynamics in the motion (issue 15): a score marked p for eight bars and f (subito) for eight more,
rendered with FluidSynth (the render plays the marks: velocity follows them) and conducted with the score."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
pytestmark = pytest.mark.skipif(
    fluidsynth_executable() is None or not SOUNDFONT.is_file(), reason="needs fluidsynth and TimGM6mb.sf2"
)
BPM, FPS, FORTE_BEAT = 100, 30, 32


def p_then_f(path: Path) -> None:
    """Violin, viola and cello in quarter notes, 4/4 at 100: p, then f at bar 9 (beat 32)."""
    import music21

    score = music21.stream.Score()
    for octave, instrument in (
        (5, music21.instrument.Violin()),
        (4, music21.instrument.Viola()),
        (3, music21.instrument.Violoncello()),
    ):
        part = music21.stream.Part([instrument, music21.meter.TimeSignature("4/4")])
        part.insert(0, music21.tempo.MetronomeMark(number=BPM))
        part.insert(0, music21.dynamics.Dynamic("p"))
        part.insert(float(FORTE_BEAT), music21.dynamics.Dynamic("f"))
        for k in range(64):
            part.insert(float(k), music21.note.Note("CEGEDFAF"[k % 8] + str(octave), quarterLength=1))
        score.insert(0, part)
    score.write("musicxml", fp=str(path))


@pytest.fixture(scope="module")
def conducted(tmp_path_factory):
    """(beats, keypoints) of the take conducted with its score."""
    import soundfile

    from vconductor.beat_data.score_renders import nominal_tempo_map, render
    from vconductor.beat_sources import BeatSource
    from vconductor.conducting import conduct
    from vconductor.pipeline import prepare_input
    from vconductor.scores.reading import read_score_file
    from vconductor.scores.source import ScoreSource

    folder = tmp_path_factory.mktemp("dynamics")
    score = folder / "p_then_f.musicxml"
    p_then_f(score)
    timeline = read_score_file(score)
    wav = folder / "p_then_f.wav"
    soundfile.write(wav, render(timeline, nominal_tempo_map(timeline), SOUNDFONT, seed=1).samples, 22050)
    prepared = prepare_input(wav, needs="analysis", meter=None, beats=BeatSource(score=ScoreSource(timeline)))
    motion = conduct(prepared.analysis, prepared.num_frames, 0).keypoints.astype(float)
    return prepared.beats.beats_s, motion


def beat_heights(beats: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """Each beat's rise and fall of the right wrist (image units)."""
    from vconductor.skeleton import JOINT

    y = motion[:, JOINT["right_wrist"], 1]
    return np.array(
        [np.ptp(y[int(a * FPS) : int(b * FPS) + 1]) for a, b in zip(beats[:-1], beats[1:], strict=True)]
    )


def test_a_written_forte_makes_every_beat_taller(conducted):
    """Each beat's rise and fall of the right wrist, bars 6-8 (p) against bars 10-12 (f): measured 0.138 ->
    0.196 (x1.42); before 2026-12-04 0.138 -> 0.145, a loud phrase lifting the beat plane to the shoulders
    squashed the f beats under the highest hand position."""
    beats, motion = conducted
    height = beat_heights(beats, motion)
    quiet, loud = height[20:30].mean(), height[36:46].mean()
    assert loud > 1.25 * quiet, (quiet, loud)


def test_the_step_to_forte_is_no_jump_in_the_motion(conducted):
    """Around the subito f (one second either side) neither wrist accelerates harder than anywhere else in
    the take, and the beats grow over more than one beat (measured: 0.12, 0.14, 0.16, 0.19, 0.22, 0.26)."""
    from vconductor.skeleton import JOINT

    beats, motion = conducted
    forte = int(beats[FORTE_BEAT] * FPS)
    elsewhere = np.r_[int(beats[4] * FPS) : forte - FPS, forte + FPS : int(beats[60] * FPS)]
    for joint in ("right_wrist", "left_wrist"):
        accel = np.linalg.norm(np.diff(motion[:, JOINT[joint]], 2, axis=0), axis=1)
        assert accel[forte - FPS : forte + FPS].max() <= accel[elsewhere].max(), joint
    height = beat_heights(beats, motion)
    around = height[FORTE_BEAT - 3 : FORTE_BEAT + 4]
    assert np.diff(around).max() < 0.6 * (around.max() - around.min()), around
