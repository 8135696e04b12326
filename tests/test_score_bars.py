"""Bars that hold more than their time signature allows (hand-edited MusicXML): played as written, the bar has
more beats (docs/scores.md#bars); a bar beyond the beats contract's 16 beats is refused naming it."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import analyze_cli

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402
from vconductor.conducting.beat_plan import in_pattern  # noqa: E402
from vconductor.metrics.beats import beat_f_measure  # noqa: E402
from vconductor.scores.reading import ScoreFileError, read_score_file  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
BPM, LEAD_IN_S = 120.0, 0.5
# quarters in each bar of the two parts: bar 3 of the violin holds five (a note too many), the cello's four
VIOLIN = [4, 4, 5, 4, 4, 4, 4, 4, 4, 4]
CELLO = [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
SEMITONES = (0, 2, 4, 5, 7, 9, 11)  # C D E F G A B


def musicxml(parts: dict[str, list[int]], time: str = "4/4") -> str:
    """A score-partwise document written by hand (music21 would repair the bars), one quarter note per beat."""
    beats, beat_type = time.split("/")

    def measure(number: int, quarters: int, octave: int) -> str:
        head = (
            "<attributes><divisions>1</divisions>"
            f"<time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time></attributes>"
            if number == 1
            else ""
        )
        notes = "".join(
            f"<note><pitch><step>{'CDEFGAB'[(number + k) % 7]}</step><octave>{octave}</octave></pitch>"
            "<duration>1</duration><type>quarter</type></note>"
            for k in range(quarters)
        )
        return f'<measure number="{number}">{head}{notes}</measure>'

    names = "".join(
        f'<score-part id="P{i}"><part-name>{n}</part-name></score-part>' for i, n in enumerate(parts)
    )
    body = "".join(
        f'<part id="P{i}">' + "".join(measure(b + 1, q, 5 - 2 * i) for b, q in enumerate(bars)) + "</part>"
        for i, bars in enumerate(parts.values())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1">'
        f"<part-list>{names}</part-list>{body}</score-partwise>"
    )


def as_played() -> tuple[np.ndarray, np.ndarray]:
    """(beats, downbeats) in seconds as a notation program plays the score: every bar as long as its fullest
    part (bar 3: five beats), the cello resting on its fifth."""
    lengths = np.maximum(VIOLIN, CELLO)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    beats = np.concatenate([start + np.arange(n) for start, n in zip(starts, lengths, strict=True)])
    return LEAD_IN_S + beats * 60 / BPM, LEAD_IN_S + starts * 60 / BPM


def test_an_overfull_bar_is_read_with_all_its_beats_in_every_part(tmp_path):
    path = tmp_path / "overfull.musicxml"
    path.write_text(musicxml({"Violin": VIOLIN, "Violoncello": CELLO}))
    timeline = read_score_file(path)
    assert [b.length_q for b in timeline.bars[:4]] == [4, 4, 5, 4]
    assert list(timeline.labels.beat_in_bar[8:14]) == [1, 2, 3, 4, 5, 1]  # bar 3 counts to five
    cello = timeline.notes[timeline.notes["part"] == 1]["onset_q"]
    assert (
        12.0 not in cello and 13.0 in cello
    )  # the cello rests on bar 3's fifth beat; its bar 4 starts at 13


def test_a_bar_beyond_sixteen_beats_is_refused_naming_it(tmp_path):
    path = tmp_path / "broken.musicxml"
    path.write_text(musicxml({"Violin": [4, 40, 4]}))
    with pytest.raises(ScoreFileError) as error:
        read_score_file(path)
    message = str(error.value)
    assert "\n" not in message and "bar 2" in message and "40 quarter notes" in message, message


def test_the_pattern_gives_an_overfull_bar_its_extra_beats_and_one_downbeat():
    four = in_pattern(np.array([0, 1, 2, 3, 0, 1, 2, 3, 4, 0, 1, 2, 3]), 4)
    assert list(four) == [0, 1, 2, 3, 0, 1, 2, 2, 3, 0, 1, 2, 3]  # down, in, out, out, up
    assert list(in_pattern(np.array([3, 0, 1, 2, 3, 0, 1]), 4)) == [
        3,
        0,
        1,
        2,
        3,
        0,
        1,
    ]  # a pickup: unchanged
    assert list(in_pattern(np.array([0, 1, 2, 3, 0, 1, 2, 3]), 2)) == [0, 1, 0, 1, 0, 1, 0, 1]  # 4/4 in two


@pytest.mark.skipif(
    fluidsynth_executable() is None or not SOUNDFONT.is_file(), reason="needs fluidsynth and TimGM6mb.sf2"
)
def test_audio_of_an_overfull_bar_gets_its_beats_through_the_cli(tmp_path):
    """The score's audio as a notation program plays it (pretty_midi, not our reading): every beat, bar 3's
    fifth included, with its place in the bar."""
    import pretty_midi
    import soundfile

    from vconductor.beat_data.render import synthesize

    beats, downbeats = as_played()
    midi = pretty_midi.PrettyMIDI(initial_tempo=BPM)
    for part, (bars, program) in enumerate(((VIOLIN, 40), (CELLO, 42))):
        track = pretty_midi.Instrument(program=program)
        for bar, quarters in enumerate(bars):
            for k in range(quarters):  # the score's pitches (musicxml(): step (bar + k) % 7, octave 5 or 3)
                start = downbeats[bar] + k * 60 / BPM
                pitch = 12 * (6 - 2 * part) + SEMITONES[(bar + 1 + k) % 7]
                track.notes.append(pretty_midi.Note(80, pitch, start, start + 0.45))
        midi.instruments.append(track)
    audio, _ = synthesize(midi, SOUNDFONT, np.random.default_rng(0))
    wav, score, out = tmp_path / "overfull.wav", tmp_path / "overfull.musicxml", tmp_path / "beats.json"
    soundfile.write(wav, audio, 22050)
    score.write_text(musicxml({"Violin": VIOLIN, "Violoncello": CELLO}))
    done = analyze_cli(wav, score, out)
    assert done.returncode == 0, done.stderr
    found = json.loads(out.read_text())
    assert beat_f_measure(np.array(found["beats_s"]), beats, 0.07)[0] >= 0.97
    assert beat_f_measure(np.array(found["downbeats_s"]), downbeats, 0.07)[0] >= 0.97
    assert found["beat_in_bar"][8:14] == [0, 1, 2, 3, 4, 0]
