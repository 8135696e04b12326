"""The banded Viterbi (conducting/viterbi.py) finds librosa's path, in chunks, without its memory."""

import librosa
import numpy as np
import pytest

from vconductor.conducting.tempo import _tempo_transition
from vconductor.conducting.viterbi import BandedTransition, viterbi_path


def _emissions(rng, steps, states, drift=True):
    """Peaky emissions that wander like a tempo: a bump that moves, noise, and stretches of no information."""
    centre = states / 2 + np.cumsum(rng.normal(0, 0.8 if drift else 0.0, steps))
    bins = np.arange(states)
    emit = np.exp(-0.5 * ((bins[None, :] - np.clip(centre, 0, states - 1)[:, None]) / 3.0) ** 2)
    emit += rng.uniform(0, 0.3, emit.shape)
    emit[rng.uniform(size=steps) < 0.1] = 1.0  # uninformative windows
    return emit / emit.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("states", [106, 250])
def test_tempo_paths_equal_librosa(states):
    rng = np.random.default_rng(states)
    emit = _emissions(rng, 3000, states)
    trans = _tempo_transition(states, 2.5)
    assert BandedTransition(trans).width < states // 4  # the band is what makes it fast
    expected = librosa.sequence.viterbi(emit.T, trans)
    chunks = (emit[a : a + 700] for a in range(0, len(emit), 700))
    np.testing.assert_array_equal(viterbi_path(chunks, trans), expected)


def test_a_dense_transition_is_exact_too():
    rng = np.random.default_rng(1)
    trans = rng.uniform(size=(12, 12))
    trans /= trans.sum(axis=1, keepdims=True)
    emit = rng.uniform(size=(400, 12))
    emit /= emit.sum(axis=1, keepdims=True)
    assert BandedTransition(trans).width == 11
    np.testing.assert_array_equal(viterbi_path([emit], trans), librosa.sequence.viterbi(emit.T, trans))


def test_ties_go_to_the_lowest_state_as_in_librosa():
    trans = _tempo_transition(60, 2.5)
    emit = np.full((50, 60), 1 / 60)  # every path is as likely: librosa keeps state 0
    emit[20:30, 40] = 0.5
    np.testing.assert_array_equal(viterbi_path([emit], trans), librosa.sequence.viterbi(emit.T, trans))


def test_empty_and_single_step():
    trans = _tempo_transition(10, 2.5)
    assert viterbi_path([], trans).shape == (0,)
    one = np.eye(10)[[3]] * 0.9 + 0.01
    assert viterbi_path([one], trans).tolist() == [3]
