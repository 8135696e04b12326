"""The performance alignment's onset chroma and two-pass DTW (docs/scores.md, scores/onset_chroma.py,
scores/fine_dtw.py): the banded DTW against librosa's, onsets of different pitch classes told apart where
broadband onsets cannot, and a rubato render of a dense keyboard piece through the CLI."""

from pathlib import Path

import numpy as np
import pytest

from conftest import analyzed_take, take_f_measures

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402
from vconductor.scores.fine_dtw import band_bounds, banded_path  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
needs_fluidsynth = pytest.mark.skipif(
    fluidsynth_executable() is None or not SOUNDFONT.is_file(), reason="needs fluidsynth and TimGM6mb.sf2"
)


def test_the_banded_dtw_is_librosas_on_a_full_band_and_stays_in_a_narrow_one():
    import librosa

    rng = np.random.default_rng(0)
    cost = rng.random((120, 90))
    _, expected = librosa.sequence.dtw(C=cost, backtrack=True)
    rows = len(cost)
    path = banded_path(lambda a, b, c, d: cost[a:b, c:d], np.zeros(rows, int), np.full(rows, 90))
    assert np.array_equal(path, expected[::-1])

    centre = np.linspace(0, 89, rows) + 3 * np.sin(np.arange(rows) / 9)
    lo, hi = band_bounds(centre, 4, 90)
    path = banded_path(lambda a, b, c, d: cost[a:b, c:d], lo, hi)
    steps = np.diff(path, axis=0)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (rows - 1, 89)
    assert steps.min() >= 0 and steps.max() <= 1 and (steps.sum(axis=1) >= 1).all()
    assert ((path[:, 1] >= lo[path[:, 0]]) & (path[:, 1] < hi[path[:, 0]])).all()


@needs_fluidsynth
def test_onset_chroma_tells_which_notes_start_where_broadband_onsets_cannot():
    """An arpeggio C-E-G repeated in even eighths (the chroma of every bar is the same): every eighth is an
    onset, so the broadband onsets of the score with each note moved on by one (E-G-C) are the true score's
    own and match the audio as well; its onset chroma matches the audio worse (measured: mean distance 0.41
    against 0.45 on a strings patch, whose slow attack blurs the onsets)."""
    import music21

    from vconductor.audio import audio_spectrogram
    from vconductor.beat_data.score_renders import nominal_tempo_map, render
    from vconductor.scores.features import MEL_RATE
    from vconductor.scores.onset_chroma import audio_onset_chroma, dlnco, onset_distance, score_onset_chroma
    from vconductor.scores.timeline import score_timeline

    part = music21.stream.Part()
    part.append(music21.meter.TimeSignature("3/4"))
    for _ in range(8):
        for name in ("C5", "E5", "G5") * 2:
            part.append(music21.note.Note(name, quarterLength=0.5))
    part.makeMeasures(inPlace=True)
    timeline = score_timeline(music21.stream.Score([part]), "arpeggio")
    take = render(timeline, nominal_tempo_map(timeline), SOUNDFONT, seed=1)
    spectrogram = audio_spectrogram((take.samples, 22050))
    rate = MEL_RATE / 2
    audio_raw = audio_onset_chroma(spectrogram)
    audio = dlnco(audio_raw[: len(audio_raw) // 2 * 2].reshape(-1, 2, 12).mean(axis=1), rate)
    notes = timeline.notes
    onsets_s = (
        timeline.nominal_seconds(notes["onset_q"]) + take.beats_s[0]
    )  # the first beat is the first note
    n = len(audio)

    def distance(pitches):
        score = dlnco(score_onset_chroma(pitches, onsets_s, notes["velocity"], n, rate), rate)
        return float(np.mean(np.diag(onset_distance(score, audio))))

    true_pitches = notes["pitch"]
    shifted = np.roll(true_pitches, -1)  # the same onset times, each one note on
    assert distance(true_pitches) < 0.95 * distance(shifted), (distance(true_pitches), distance(shifted))


@needs_fluidsynth
def test_a_rubato_render_of_dense_keyboard_writing_keeps_its_beats(tmp_path):
    """C. P. E. Bach's H. 186, 13 bars of running figuration (not held out) under a drawn rubato map, through
    `vconductor analyze --score`: beat F 0.854 before the onset chroma (0.893 with rubato seed 5), 0.951 with
    it."""
    import music21

    from vconductor.beat_data.score_renders import render, rubato_tempo_map
    from vconductor.scores.reading import read_score_file

    score = tmp_path / "h186.musicxml"
    music21.corpus.parse("cpebach/h186").measures(0, 13).write("musicxml", fp=str(score))
    timeline = read_score_file(score)
    take = render(timeline, rubato_tempo_map(timeline, 1), SOUNDFONT, seed=3)
    doc = analyzed_take(take, score, tmp_path)
    assert doc["score"]["case"] == "performance", doc["score"]
    beat_f, downbeat_f = take_f_measures(doc, take)
    assert beat_f >= 0.9 and downbeat_f >= 0.9, (beat_f, downbeat_f)
