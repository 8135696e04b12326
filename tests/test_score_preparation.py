"""The preparation before the first entry with a score (issue 15): the procedural conductor's hand waits, then
gives one beat (the preparatory beat) and lands on the first note: a score starting on a downbeat, with a
one-beat pickup, and with a beat of rest first. FluidSynth renders at the score's tempo (100 BPM)."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
pytestmark = pytest.mark.skipif(
    fluidsynth_executable() is None or not SOUNDFONT.is_file(), reason="needs fluidsynth and TimGM6mb.sf2"
)
BPM, FPS = 100.0, 30
QUARTER = (
    "<note><pitch><step>{}</step><octave>{}</octave></pitch><duration>1</duration><type>quarter</type></note>"
)
REST = "<note><rest/><duration>1</duration><type>quarter</type></note>"


def score(opening: str) -> str:
    """Violin and cello, 4/4 at 100: "downbeat" (four full bars), "pickup" (a one-beat bar 0 first) or
    "rest" (bar 1 opens with a quarter rest)."""
    head = (
        "<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes>"
        "<direction><direction-type><metronome><beat-unit>quarter</beat-unit>"
        f'<per-minute>{BPM:g}</per-minute></metronome></direction-type><sound tempo="{BPM:g}"/></direction>'
    )
    parts = []
    for octave in (5, 3):
        bars = ["".join(QUARTER.format(step, octave) for step in "CEGD") for _ in range(4)]
        if opening == "rest":
            bars[0] = REST + "".join(QUARTER.format(step, octave) for step in "EGD")
        if opening == "pickup":
            bars.insert(0, QUARTER.format("G", octave))
        first = 0 if opening == "pickup" else 1
        implicit = ' implicit="yes"' if opening == "pickup" else ""
        measures = [f'<measure number="{first}"{implicit}>{head}{bars[0]}</measure>']
        measures += [
            f'<measure number="{first + i}">{notes}</measure>' for i, notes in enumerate(bars[1:], 1)
        ]
        parts.append(f'<part id="P{octave}">{"".join(measures)}</part>')
    names = '<score-part id="P5"><part-name>Violin</part-name></score-part>'
    names += '<score-part id="P3"><part-name>Violoncello</part-name></score-part>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1">'
        f"<part-list>{names}</part-list>{''.join(parts)}</score-partwise>"
    )


@pytest.mark.parametrize("lead_s", [0.0, 1.5])
@pytest.mark.parametrize("opening", ["downbeat", "pickup", "rest"])
def test_one_preparatory_beat_then_the_first_note(tmp_path, opening, lead_s):
    """The hand is still until one beat before the first note (not two: a rest's silent beat is no beat to
    conduct), then prepares and lands its first ictus on the note; a pickup is conducted as the bar's last
    beat. `lead_s`: more silence before the music (the hand first rises from rest to a ready position)."""
    import soundfile

    from vconductor.beat_data.score_renders import LEAD_IN_S, nominal_tempo_map, render
    from vconductor.beat_sources import BeatSource
    from vconductor.conducting import conduct
    from vconductor.pipeline import prepare_input
    from vconductor.scores.reading import read_score_file
    from vconductor.scores.source import ScoreSource
    from vconductor.skeleton import JOINT

    path = tmp_path / f"{opening}.musicxml"
    path.write_text(score(opening))
    timeline = read_score_file(path)
    take = render(timeline, nominal_tempo_map(timeline), SOUNDFONT, seed=1)
    wav = tmp_path / f"{opening}.wav"
    soundfile.write(wav, np.r_[np.zeros(int(lead_s * 22050), np.float32), take.samples], 22050)
    first_note = lead_s + LEAD_IN_S + float(timeline.nominal_seconds(timeline.notes["onset_q"].min()))
    prepared = prepare_input(wav, needs="analysis", meter=None, beats=BeatSource(score=ScoreSource(timeline)))
    assert prepared.beats.beat_in_bar[0] == (3 if opening == "pickup" else 0)
    wrist = (
        conduct(prepared.analysis, prepared.num_frames, 0).keypoints[:, JOINT["right_wrist"]].astype(float)
    )
    speed = np.linalg.norm(np.diff(wrist, axis=0), axis=1) * FPS
    note = int(round(first_note * FPS))
    still = np.flatnonzero(speed[: note - 3] < 0.02)
    preparation_s = first_note - (still[-1] + 1) / FPS  # from the last still moment to the note
    assert 0.85 <= preparation_s / (60 / BPM) <= 1.15, preparation_s
    near = np.arange(note - 6, note + 7)
    lowest = near[np.argmax(wrist[near, 1])] / FPS  # the first ictus (image y grows downwards)
    assert abs(lowest - first_note) <= 0.07, (lowest, first_note)
    assert speed[note - int(0.5 * 60 / BPM * FPS)] > 0.3  # moving through the preparation
