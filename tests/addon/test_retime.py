"""Scene frames <-> audio time at any frame rate, fractional strip starts, resampling."""

import numpy as np
import pytest
from virtual_conductor_addon.motion import MotionError, key_frames
from virtual_conductor_addon.motion.retime import sample_at

FPS = [24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 60.0]


@pytest.mark.parametrize("fps", FPS)
@pytest.mark.parametrize("range_start", [1.0, 37.5, 100.25, 0.999])
def test_audio_time_lands_on_strip_start_plus_t_times_fps(fps, range_start):
    duration = 12.3
    range_end = range_start + duration * fps + 10  # a range longer than the audio
    frames, times = key_frames(range_start, range_end, fps, duration)
    assert frames.dtype.kind == "i" and np.all(np.diff(frames) == 1)
    assert frames[0] == int(np.ceil(range_start)) and frames[-1] < range_end <= frames[-1] + 1
    inside = (frames - range_start) / fps <= duration
    # Within the audio, frame f shows audio time t with f = range_start + t * fps exactly.
    assert np.allclose(range_start + times[inside] * fps, frames[inside], atol=1e-9)
    assert np.all(times[~inside] == duration) and times.min() >= 0


def test_integer_start_with_float_noise_still_keys_the_start_frame():
    frames, times = key_frames(10.0000000001, 20.0, 24.0, 5.0)
    assert frames[0] == 10 and times[0] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((5.0, 5.0, 24.0, 1.0), "holds no whole frame"),
        ((0.0, 10.0, 0.0, 1.0), "frame rate must be positive"),
        ((0.0, float("nan"), 24.0, 1.0), "must be finite"),
    ],
)
def test_bad_ranges_are_refused(args, message):
    with pytest.raises(MotionError, match=message):
        key_frames(*args)


def test_sample_at_interpolates_linearly_and_holds_the_ends():
    tracks = np.arange(10.0)[:, None] * np.array([1.0, -2.0])
    out = sample_at(tracks, np.array([-1.0, 0.0, 0.05, 1 / 30, 0.2, 5.0]), 30.0)
    assert np.allclose(out[:, 0], [0.0, 0.0, 1.5, 1.0, 6.0, 9.0])
    assert np.allclose(out[:, 1], -2 * out[:, 0])
