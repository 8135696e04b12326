"""Fermatas in the beat tracker's decoder (beat_tracking/holds.py): a held chord is not filled with beats and
does not move the bars; a held note in strict time keeps its silent beat."""

import numpy as np
import pytest

from test_beat_decoder import activations_for
from vconductor.beat_tracking import FRAME_RATE, decode
from vconductor.beat_tracking.holds import held_beats, local_periods, without_fermata_fills


def chorale(stretch: float, phrases: int = 6, bpm: float = 80.0):
    """A 4/4 chorale's beats: each phrase a pickup and two bars, its last chord (beat 3) held `stretch` beats
    long, then the next phrase's pickup; beat positions in the bar and the fermata chords' beat indices."""
    period = 60.0 / bpm
    in_bar = np.array([3] + [0, 1, 2, 3] * 2 * phrases)  # each phrase's last 3 is the next one's pickup
    held = 1 + 8 * np.arange(phrases - 1) + 6  # beat 3 of each phrase's second bar, but the last
    intervals = np.full(len(in_bar) - 1, period)
    intervals[held] = stretch * period
    return 1.0 + np.r_[0.0, np.cumsum(intervals)], in_bar, held


def with_cadence_downbeats(beats: np.ndarray, in_bar: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Activations where the true downbeats are weak (0.3) and each held chord sounds like a bar start (0.95,
    as the network hears a cadence)."""
    seconds = beats[-1] + 2.0
    act = activations_for(beats, beats[in_bar == 0], seconds, noise=0.03) * [1.0, 0.3 / 0.95]
    cadence = activations_for(np.zeros(0), beats[held], seconds) * [0.0, 1.0]
    return np.maximum(act, cadence)


@pytest.mark.parametrize("stretch", [1.7, 2.4])
def test_a_fermata_gets_no_beat_and_the_bars_run_on_across_it(stretch):
    beats, in_bar, held = chorale(stretch)
    tracked = decode(with_cadence_downbeats(beats, in_bar, held))
    assert len(tracked.beats_s) == len(beats)
    assert np.abs(tracked.beats_s - beats).max() < 1.5 / FRAME_RATE
    assert np.array_equal(tracked.beat_in_bar, in_bar)
    assert tracked.main_bar_length == 4
    # the held chord does not slow the reported tempo (the conductor holds there rather than beating slowly)
    assert np.allclose(tracked.tempo_bpm[held], 80.0, rtol=0.02)


def test_a_held_note_in_strict_time_keeps_its_silent_beat():
    period = 0.6
    beats = 1.0 + period * np.arange(40)
    downbeats = beats[::4]
    heard = np.ones(40, bool)
    heard[2::8] = False  # every other bar's third beat falls inside a held note: no onset, no activation
    act = activations_for(beats[heard], downbeats, beats[-1] + 2.0, noise=0.03)
    tracked = decode(act)
    assert len(tracked.beats_s) == 40
    assert np.abs(tracked.beats_s - beats)[heard].max() < 1.5 / FRAME_RATE
    assert np.abs(tracked.beats_s - beats)[~heard].max() < 0.07  # placed by the tempo alone


def activation(peaks: np.ndarray, frames: int) -> np.ndarray:
    act = np.zeros(frames)
    act[peaks] = 1.0
    return act


def test_only_unheard_beats_off_the_tempo_between_heard_ones_are_dropped():
    frames = np.r_[np.arange(0, 500, 50), [495, 540], np.arange(580, 1100, 50)]  # 2.6 periods filled by 3
    heard = np.ones(len(frames), bool)
    heard[[10, 11]] = False
    kept = without_fermata_fills(frames, activation(frames[heard], 1300))
    assert np.array_equal(kept, np.delete(frames, [10, 11]))
    assert np.array_equal(without_fermata_fills(frames, activation(frames, 1300)), frames)  # all heard
    # unheard beats with no heard beat before them are not a held chord between two beats: kept
    assert np.array_equal(without_fermata_fills(frames, activation(frames[2:][heard[2:]], 1300)), kept)
    assert np.flatnonzero(held_beats(kept, np.ones(len(kept), bool))).tolist() == [9]
    assert np.allclose(local_periods(kept, np.ones(len(kept), bool)), 50.0)
    assert local_periods(frames[:5], heard[:5]) is None  # too few intervals to know the tempo
