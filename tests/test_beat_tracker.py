"""The numpy beat tracker (conducting/beat_tracker.py) and peak picker (conducting/phrases.py) give librosa's
results exactly: on the onset envelopes and tempo curves the analysis really tracks, and on edge cases."""

import warnings

import librosa
import numpy as np
import pytest

from conftest import CORPUS, REPO
from vconductor.audio import HOP, SAMPLE_RATE
from vconductor.conducting import analyze, beat_levels
from vconductor.conducting import tuning as tun
from vconductor.conducting.beat_tracker import beat_track, local_score, normalized_onsets, track_dp
from vconductor.conducting.phrases import peak_pick, span_means
from vconductor.conducting.tempo import track_beats, tracker_input

EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
CORPUS_PIECE = CORPUS / "haydn_opus74no1_movement1.flac"


def _librosa_beats(onset, bpm, frame_rate_up, tightness):
    """librosa.beat.beat_track as tempo.track_beats called it before the port."""
    sr = SAMPLE_RATE * frame_rate_up
    return librosa.beat.beat_track(
        onset_envelope=onset, sr=sr, hop_length=HOP, bpm=bpm, tightness=tightness, trim=False
    )[1]


def _tracked_inputs(path):
    """The (onset envelope, per-frame tempo) of every track_beats call in the analysis of `path`."""
    calls = []

    def recording(onset, bpm, *args, **kwargs):
        calls.append((onset.copy(), np.asarray(bpm).copy()))
        return track_beats(onset, bpm, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(beat_levels, "track_beats", recording)
        analyze(path)
    assert calls, "the analysis no longer tracks beats through beat_levels.track_beats"
    return calls


@pytest.fixture(scope="module")
def example_inputs():
    return _tracked_inputs(EXAMPLE)


def _check_against_librosa(calls):
    for onset, bpm in calls:
        assert np.ptp(bpm) > 0  # a time-varying tempo, as the analysis makes them
        onset_up, bpm_up, up, tightness = tracker_input(onset, bpm, tun.TRACKER_TIGHTNESS)
        expected = _librosa_beats(onset_up, bpm_up, up, tightness)
        got = beat_track(onset_up, bpm_up, SAMPLE_RATE * up / HOP, tightness)
        np.testing.assert_array_equal(got, expected)
        old = np.unique(np.clip(np.round(expected / up).astype(int), 0, len(onset) - 1))
        np.testing.assert_array_equal(track_beats(onset, bpm), old)


def test_beats_equal_librosa_on_the_bundled_example(example_inputs):
    _check_against_librosa(example_inputs)


@pytest.mark.shared
@pytest.mark.skipif(not CORPUS_PIECE.is_file(), reason="needs ../shared/corpus beside the repository")
def test_beats_equal_librosa_on_a_corpus_piece():
    _check_against_librosa(_tracked_inputs(CORPUS_PIECE))


def test_scores_equal_librosa_bit_for_bit(example_inputs):
    """The local and cumulative scores and the back-links, not just the beats (librosa's private functions)."""
    names = ("__normalize_onsets", "__beat_local_score", "__beat_track_dp")
    if not all(hasattr(librosa.beat, name) for name in names):
        pytest.skip("librosa's private beat-tracking functions have changed")
    normalize, librosa_local, librosa_dp = (getattr(librosa.beat, name) for name in names)
    onset, bpm = example_inputs[0]
    onset_up, bpm_up, up, tightness = tracker_input(onset, bpm, tun.TRACKER_TIGHTNESS)
    frames_per_beat = np.round(SAMPLE_RATE * up / HOP * 60.0 / bpm_up)
    expected_local = librosa_local(normalize(onset_up), frames_per_beat)
    score = local_score(normalized_onsets(onset_up), frames_per_beat)
    np.testing.assert_array_equal(score, expected_local)
    backlink, cumulative = np.empty(len(score), np.int32), np.empty(len(score))
    librosa_dp(score, frames_per_beat, tightness, backlink, cumulative)
    got_backlink, got_cumulative = track_dp(score, frames_per_beat, tightness)
    np.testing.assert_array_equal(got_cumulative, cumulative)
    np.testing.assert_array_equal(got_backlink, backlink)


def _onsets_with_rests(rng, n):
    """Peaky onsets with a silent lead-in, a rest and a silent tail."""
    onset = rng.gamma(0.5, 1.0, n) * (rng.uniform(size=n) < 0.3)
    onset[: n // 10] = 0
    onset[n // 2 : n // 2 + n // 20] = 0
    onset[-n // 10 :] = 0
    return onset


@pytest.mark.parametrize("seed", range(4))
def test_tempo_jumps_and_rests_equal_librosa(seed):
    """Abrupt tempo changes (blocks mixing frames per beat) and rests (frames with no path yet)."""
    rng = np.random.default_rng(seed)
    n = 6000
    bpm = np.repeat(rng.uniform(60, 200, 6), n // 6)
    bpm = bpm * (1 + 0.03 * np.sin(np.arange(n) / 300))
    onset = _onsets_with_rests(rng, n)
    for tightness in (100.0, 1700.0):
        expected = _librosa_beats(onset, bpm, 4, tightness)
        np.testing.assert_array_equal(beat_track(onset, bpm, SAMPLE_RATE * 4 / HOP, tightness), expected)


def test_a_constant_tempo_equals_librosa_scalar_and_array():
    rng = np.random.default_rng(7)
    onset = _onsets_with_rests(rng, 3000)
    expected = _librosa_beats(onset, 97.0, 1, 100.0)
    np.testing.assert_array_equal(_librosa_beats(onset, np.full(3000, 97.0), 1, 100.0), expected)
    np.testing.assert_array_equal(beat_track(onset, 97.0, SAMPLE_RATE / HOP, 100.0), expected)
    np.testing.assert_array_equal(beat_track(onset, np.full(3000, 97.0), SAMPLE_RATE / HOP, 100.0), expected)


def test_silence_and_very_short_inputs():
    assert len(beat_track(np.zeros(500), np.full(500, 120.0), SAMPLE_RATE / HOP, 100.0)) == 0
    assert len(_librosa_beats(np.zeros(500), np.full(500, 120.0), 1, 100.0)) == 0
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 10, 40):
        onset = rng.uniform(size=n)
        for bpm in (np.full(n, 120.0), 2000.0):  # 2000 bpm: 3 frames per beat
            expected = _librosa_beats(onset, bpm, 1, 100.0)
            np.testing.assert_array_equal(beat_track(onset, bpm, SAMPLE_RATE / HOP, 100.0), expected)
    # librosa raises IndexError on a single frame; there is no beat to find there
    assert len(beat_track(np.ones(1), 120.0, SAMPLE_RATE / HOP, 100.0)) == 0
    with pytest.raises(ValueError, match="strictly positive"):
        beat_track(np.ones(10), np.zeros(10), SAMPLE_RATE / HOP, 100.0)


def test_peak_pick_equals_librosa():
    rng = np.random.default_rng(0)
    half = tun.PHRASE_HALF_BEATS
    cases = [(half, half, 2 * half, 2 * half, tun.PHRASE_NOVELTY_DELTA, 2 * half)] * 40
    cases += [tuple(int(v) for v in rng.integers(0, 12, 5)) for _ in range(400)]
    for k, case in enumerate(cases):
        if len(case) == 5:  # random windows, deltas and waits
            pre_max, post_max, pre_avg, post_avg, wait = case
            case = (
                pre_max,
                max(post_max, 1),
                pre_avg,
                max(post_avg, 1),
                float(rng.choice([0, 0.01, 0.3])),
                wait,
            )
        x = rng.uniform(size=int(rng.integers(1, 300)))
        if k % 3 == 0:
            x = np.round(x * 4) / 4  # plateaus and ties
        if k % 2 == 0:
            x = np.convolve(x, np.ones(5) / 5, mode="same")
        pre_max, post_max, pre_avg, post_avg, delta, wait = case
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = librosa.util.peak_pick(
                x,
                pre_max=pre_max,
                post_max=post_max,
                pre_avg=pre_avg,
                post_avg=post_avg,
                delta=delta,
                wait=wait,
            )
        np.testing.assert_array_equal(peak_pick(x, *case), expected, err_msg=f"case {k}: {case}")


def test_span_means_equal_librosa_sync():
    rng = np.random.default_rng(5)
    data = rng.standard_normal((13, 500)).astype(np.float32)
    for frames in ([0, 3, 3, 40, 499], [10, 20, 600], np.sort(rng.integers(0, 520, 60)), [7]):
        expected = librosa.util.sync(data, np.asarray(frames), aggregate=np.mean)
        np.testing.assert_array_equal(span_means(data, np.asarray(frames)), expected)
