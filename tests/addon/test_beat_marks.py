"""Which beats Add Beat Markers marks (motion/beat_marks.py), without Blender: every beat, downbeats, or the
beats the conductor's hand marks as the beats document's `conducted` says (grouped when fast, split in 6/8)."""

import numpy as np
import pytest
from virtual_conductor_addon.contract_beats import BeatTrack
from virtual_conductor_addon.motion.beat_marks import beat_labels, beat_marks


def _track(interval: float, per_bar: int, bars: int, conducted: dict | None, pickup: int = 0) -> BeatTrack:
    in_bar = np.r_[np.arange(per_bar - pickup, per_bar), np.tile(np.arange(per_bar), bars)]
    times = 0.5 + interval * np.arange(len(in_bar))
    n = len(times)
    return BeatTrack(times, in_bar, [per_bar] * n, [60 / interval] * n, [0.9] * n, times[-1] + 1.0, "t", None,
                     conducted)  # fmt: skip


def test_every_beat_and_downbeats_are_named_by_bar_and_beat():
    track = _track(0.5, 3, 2, None, pickup=1)
    times, names = beat_marks(track, "BEATS")
    assert names == ["0.3", "1.1", "1.2", "1.3", "2.1", "2.2", "2.3"] and np.array_equal(times, track.beats_s)
    times, names = beat_marks(track, "DOWNBEATS")
    assert names == ["1.1", "2.1"] and np.allclose(times, [1.0, 2.5])
    assert beat_labels([3, 0, 1, 2, 0]) == ["0.4", "1.1", "1.2", "1.3", "2.1"]


def test_fast_bars_get_the_beats_the_hand_gives_them():
    in_one = _track(0.2, 3, 3, {"beats_per_bar": 1, "written_per_bar": 3})  # a fast 3/4 conducted in one
    times, names = beat_marks(in_one, "CONDUCTED")
    assert names == ["1.1", "2.1", "3.1"] and np.allclose(times, in_one.beats_s[::3])
    in_two = _track(0.25, 4, 2, {"beats_per_bar": 2, "written_per_bar": 4}, pickup=2)  # 4/4 in two, a pickup
    times, names = beat_marks(in_two, "CONDUCTED")
    assert names == ["0.2", "1.1", "1.2", "2.1", "2.2"] and np.allclose(times, in_two.beats_s[::2])


def test_a_six_eight_conducted_in_six_gets_a_marker_an_eighth():
    track = _track(0.9, 2, 2, {"beats_per_bar": 6, "written_per_bar": 2})
    times, names = beat_marks(track, "CONDUCTED")
    assert names == [f"{bar}.{beat}" for bar in (1, 2) for beat in range(1, 7)]
    assert np.allclose(np.diff(times), 0.3) and times[0] == track.beats_s[0]
    assert times[-1] <= track.duration_s


@pytest.mark.parametrize("conducted", [None, {"beats_per_bar": 4, "written_per_bar": 4}])
def test_bars_conducted_as_written_get_every_beat(conducted):
    track = _track(0.6, 4, 2, conducted)
    assert beat_marks(track, "CONDUCTED")[1] == beat_marks(track, "BEATS")[1]
    with pytest.raises(ValueError, match="not one of"):
        beat_marks(track, "BARS")
