"""Preview rendering: real .mp4/.gif/.png files checked with the ffmpeg binary of imageio-ffmpeg and Pillow."""

import math
import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from conftest import write_music
from vconductor.contract import JOINT_NAMES
from vconductor.motion_io import Motion
from vconductor.preview import GIF_FPS, GIF_SCALE, render_preview

FPS = 30
SECONDS = 3.0
FRAMES = int(SECONDS * FPS)
# A neutral upper body in image coordinates (y down; the conductor faces the camera).
POSE = {
    "nose": (0.5, 0.30),
    "left_eye": (0.52, 0.28),
    "right_eye": (0.48, 0.28),
    "left_ear": (0.54, 0.29),
    "right_ear": (0.46, 0.29),
    "left_shoulder": (0.6, 0.42),
    "right_shoulder": (0.4, 0.42),
    "left_elbow": (0.68, 0.52),
    "right_elbow": (0.32, 0.52),
    "left_wrist": (0.7, 0.44),
    "right_wrist": (0.3, 0.44),
    "left_hip": (0.58, 0.75),
    "right_hip": (0.42, 0.75),
}
SIZE = 240  # small frames keep the suite fast


def conducting_motion(seconds: float = SECONDS, seed: int = 0) -> Motion:
    """A fixed upper-body pose whose arms beat a two-beat pattern at 100 bpm, with a little jitter."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    pose = np.array([POSE[name] for name in JOINT_NAMES])
    keypoints = np.repeat(pose[None], len(t), axis=0)
    phase = 2 * np.pi * 100 / 60 * t
    beat = np.stack([0.07 * np.sin(phase / 2), 0.09 * (np.abs(np.sin(phase / 2)) - 0.5)], axis=1)
    keypoints[:, 10] += beat * [-1, 1]  # right wrist (image left) leads
    keypoints[:, 9] += 0.6 * beat  # left wrist mirrors it
    keypoints[:, 8] += 0.4 * beat * [-1, 1]
    keypoints[:, 7] += 0.25 * beat
    keypoints += rng.normal(0, 0.003, keypoints.shape)
    return Motion(keypoints=keypoints, duration_s=seconds, model="m2sgan-test", seed=seed, source="beat.wav")


def ffmpeg_streams(path) -> str:
    """The stream lines ffmpeg prints for `path` (it exits non-zero because no output is given)."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    return "\n".join(line for line in result.stderr.splitlines() if "Stream #" in line)


def decoded_audio_seconds(path, rate: int = 8000) -> float:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0"]
    cmd += ["-ac", "1", "-ar", str(rate), "-f", "s16le", "-"]
    pcm = subprocess.run(cmd, capture_output=True, check=True).stdout
    return len(pcm) / 2 / rate


@pytest.fixture(scope="module")
def motion() -> Motion:
    return conducting_motion()


@pytest.fixture
def untouched(motion):
    """Fails the test if rendering changed the caller's keypoints (smoothing must work on a copy)."""
    before = motion.keypoints.copy()
    yield
    np.testing.assert_array_equal(motion.keypoints, before)


def test_mp4_without_audio(motion, tmp_path, untouched):
    calls = []
    out = render_preview(motion, tmp_path / "preview.mp4", size=SIZE, progress=lambda f, m: calls.append(f))
    assert out == tmp_path / "preview.mp4"
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert abs(frames - FRAMES) <= 1
    streams = ffmpeg_streams(out)
    assert re.search(rf"Video: h264 .*yuv420p.*{SIZE}x{SIZE}.*30 fps", streams), streams
    assert "Audio:" not in streams
    assert calls[0] == 0.0 and calls[-1] == 1.0 and calls == sorted(calls)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.mp4"]  # no temp file left behind


@pytest.mark.parametrize("audio_seconds", [1.5, 5.0], ids=["padded", "trimmed"])
def test_mp4_with_audio_matches_video_length(motion, tmp_path, untouched, audio_seconds):
    audio = write_music(tmp_path / "music.wav", audio_seconds)
    out = render_preview(motion, tmp_path / "with_audio.mp4", audio, size=SIZE)
    streams = ffmpeg_streams(out)
    assert "Video: h264" in streams and "Audio: aac" in streams, streams
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert abs(frames - FRAMES) <= 1
    assert decoded_audio_seconds(out) == pytest.approx(SECONDS, abs=0.05)


def test_audio_starts_with_frame_0(motion, tmp_path):
    rate = 22050
    click = np.zeros(int(SECONDS * rate), np.float32)
    click[rate : rate + 64] = 0.9  # a click exactly 1 s in
    sf.write(str(tmp_path / "click.wav"), click, rate)
    out = render_preview(motion, tmp_path / "click.mp4", tmp_path / "click.wav", size=SIZE)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(out), "-map", "0:a:0"]
    pcm = subprocess.run([*cmd, "-ac", "1", "-f", "s16le", "-"], capture_output=True, check=True).stdout
    decoded = np.abs(np.frombuffer(pcm, np.int16).astype(np.float32))
    assert np.argmax(decoded) / rate == pytest.approx(1.0, abs=0.5 / FPS)  # within half a video frame


def test_odd_size_is_rounded_to_even(motion, tmp_path):
    out = render_preview(motion, tmp_path / "odd.mp4", size=161, smooth=False, trail_frames=0)
    assert "160x160" in ffmpeg_streams(out)


def test_gif(motion, tmp_path, untouched):
    out = render_preview(motion, tmp_path / "preview.gif", size=SIZE)
    expected = math.ceil(FRAMES / round(FPS / GIF_FPS))
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.size == (int(SIZE * GIF_SCALE),) * 2
        assert abs(gif.n_frames - expected) <= 1


def test_png_contact_sheet(motion, tmp_path, untouched):
    out = render_preview(
        motion, tmp_path / "sheet.png"
    )  # default size 600: 4x3 panels of 300 + a 60 px title
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size == (1200, 960)
        pixels = np.asarray(sheet.convert("RGB"))
    assert (pixels.min(axis=2) > 200).mean() > 0.005  # the light figures are there, not just the dark stage


def test_very_short_motion(tmp_path):
    short = conducting_motion(seconds=4 / FPS)  # 4 frames: shorter than the smoothing window
    out = render_preview(short, tmp_path / "short.mp4", size=SIZE)
    assert abs(imageio_ffmpeg.count_frames_and_secs(str(out))[0] - 4) <= 1
    render_preview(conducting_motion(seconds=1 / FPS), tmp_path / "one.png", size=SIZE)


def test_unsupported_suffix_writes_nothing(motion, tmp_path):
    with pytest.raises(ValueError, match=r"\.mp4.*\.gif.*\.png"):
        render_preview(motion, tmp_path / "preview.avi")
    assert list(tmp_path.iterdir()) == []


def test_audio_that_is_not_audio_fails_before_writing(motion, tmp_path):
    fake = tmp_path / "music.wav"
    fake.write_text("this is not a wave file\n" * 100)
    with pytest.raises(ValueError, match="cannot decode audio"):
        render_preview(motion, tmp_path / "preview.mp4", fake, size=SIZE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music.wav"]


def test_missing_audio(motion, tmp_path):
    with pytest.raises(FileNotFoundError):
        render_preview(motion, tmp_path / "preview.mp4", tmp_path / "nowhere.wav", size=SIZE)
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_render_leaves_previous_output_intact(motion, tmp_path):
    out = tmp_path / "preview.mp4"
    out.write_bytes(b"previous render")

    def cancel(fraction, message):
        if fraction > 0.3:
            raise KeyboardInterrupt  # e.g. the user pressing Ctrl-C half-way

    with pytest.raises(KeyboardInterrupt):
        render_preview(motion, out, size=SIZE, progress=cancel)
    assert out.read_bytes() == b"previous render"
    assert [p.name for p in tmp_path.iterdir()] == ["preview.mp4"]


def test_bad_arguments(motion, tmp_path):
    with pytest.raises(ValueError, match="size"):
        render_preview(motion, tmp_path / "p.png", size=10)
    with pytest.raises(ValueError, match="trail_frames"):
        render_preview(motion, tmp_path / "p.png", trail_frames=-1)
    broken = Motion(keypoints=np.zeros((5, 13, 2)), duration_s=1, model="m", seed=0)
    broken.keypoints[:] = np.nan  # Motion refuses NaN when built; the renderer checks again for later edits
    with pytest.raises(ValueError, match="NaN"):
        render_preview(broken, tmp_path / "p.png")
    assert list(tmp_path.iterdir()) == []


def test_the_baton_stays_in_its_hand_when_it_points_across_the_body(motion):
    """At an ictus the baton can point across the body, its tip nearer the other wrist; it stays in the hand
    that holds it over the take (frame by frame it jumped to the left hand in 14 % of a chorale's frames)."""
    from vconductor.preview.frames import SUPERSAMPLE, FrameRenderer

    right, left = JOINT_NAMES.index("right_wrist"), JOINT_NAMES.index("left_wrist")
    tip = motion.keypoints[:, right] + [-0.05, -0.12]
    across = 3
    tip[across] = motion.keypoints[across, left] + [0.0, 0.04]  # just below the left hand, this one frame
    renderer = FrameRenderer(motion, np.concatenate([motion.keypoints, tip[:, None]], axis=1), 480, 0)
    assert renderer.baton_hand == right
    with_baton = np.asarray(renderer.frame(across), float)
    renderer.baton_hand = None  # the same frame, same framing, no baton: the difference is the baton
    changed = np.abs(with_baton - np.asarray(renderer.frame(across), float)).max(axis=2)
    ys, xs = np.nonzero(changed > 30)
    ink = np.c_[xs, ys].astype(float)
    drawn = renderer.points[across] / SUPERSAMPLE

    def near_segment(a, b):  # ink within 3 px of the segment a-b, its last 10 px (the tip) left out
        t = np.clip((ink - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1 - 10 / np.linalg.norm(b - a))
        return (np.linalg.norm(ink - (a + t[:, None] * (b - a)), axis=1) < 3).sum()

    assert near_segment(drawn[right], drawn[-1]) > 50  # a line from the right hand to the tip
    assert near_segment(drawn[left], drawn[-1]) < 5  # none from the left hand


def test_the_baton_is_drawn_from_the_hand_that_holds_it(motion, tmp_path):
    """A motion with a baton tip shows the baton: an ivory line from the nearer wrist to the tip."""
    from dataclasses import replace

    tip = np.concatenate([motion.keypoints[:, 10] + [-0.05, -0.12], np.zeros((motion.num_frames, 1))], axis=1)
    with_baton = replace(motion, baton_tip=tip.astype(np.float32))
    plain = np.asarray(Image.open(render_preview(motion, tmp_path / "plain.png")).convert("RGB"), float)
    baton = np.asarray(Image.open(render_preview(with_baton, tmp_path / "baton.png")).convert("RGB"), float)
    ivory = (np.abs(baton - [246, 240, 224]).max(axis=2) < 12) & (
        np.abs(plain - [246, 240, 224]).max(axis=2) > 40
    )
    assert ivory.sum() > 200  # new ivory ink: the baton in every panel
