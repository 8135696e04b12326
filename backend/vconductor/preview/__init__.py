"""Preview renderings of a motion: an animated skeleton (.mp4 with optional audio, .gif) or a contact sheet (.png).

Frames are drawn with Pillow (frames.py) and streamed as raw RGB to ffmpeg (encode.py); the contact sheet is
sheet.py. The figure is framed once from the whole motion, so it never jumps around. Smoothing is for display
only and works on a copy. Every output is written to a temp file beside the destination and moved into place at
the end, so a failure never leaves a half-written file.
"""

from pathlib import Path

import numpy as np

from ..contract import atomic_output
from ..motion_io import Motion
from ..progress import Progress
from .encode import GIF_FPS, GIF_SCALE, check_audio, write_gif, write_mp4
from .frames import MIN_SIZE
from .sheet import write_contact_sheet

__all__ = ["GIF_FPS", "GIF_SCALE", "MIN_SIZE", "SUFFIXES", "render_preview"]

SUFFIXES = (".mp4", ".gif", ".png")
# Savitzky-Golay at 30 fps: window 11 / order 3 keeps the ~3 Hz beat ictus but removes frame-to-frame jitter.
SMOOTH_WINDOW = 11
SMOOTH_ORDER = 3


def render_preview(
    motion: Motion,
    out: str | Path,
    audio: str | Path | None = None,
    *,
    size: int = 600,
    trail_frames: int = 30,
    smooth: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Render `motion` to `out`: an H.264 .mp4 (with `audio` muxed in when given), a .gif, or a .png contact sheet.

    `size` is the side of the square video frame in pixels (rounded down to even; GIFs use half of it, contact
    sheet panels too). `trail_frames` is the length of the fading wrist trails; `smooth` applies display-only
    Savitzky-Golay smoothing. `audio` is only used for .mp4: it is trimmed or padded with silence to the video
    length and starts with frame 0. `progress(fraction, message)` is called now and then. Returns `out`.
    """
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in SUFFIXES:
        raise ValueError(f"unsupported preview format {out.suffix!r}: use one of {', '.join(SUFFIXES)}")
    size = _check_args(motion, size, trail_frames)
    report = progress or (lambda fraction, message: None)
    audio = Path(audio) if audio is not None and kind == ".mp4" else None
    if audio is not None:
        check_audio(audio)  # before any rendering work

    report(0.0, f"rendering {out.name}")
    keypoints = motion.keypoints
    if motion.baton_tip is not None:  # drawn as a 14th point: its image position is the tip's (x, y)
        keypoints = np.concatenate([keypoints, motion.baton_tip[:, None, :2]], axis=1)
    keypoints = _display_keypoints(keypoints, smooth)
    with atomic_output(out) as tmp:
        if kind == ".mp4":
            write_mp4(motion, keypoints, tmp, audio, size, trail_frames, report)
        elif kind == ".gif":
            write_gif(motion, keypoints, tmp, size, trail_frames, report)
        else:
            write_contact_sheet(motion, keypoints, tmp, size, trail_frames, report)
    report(1.0, f"wrote {out}")
    return out


def _check_args(motion: Motion, size: int, trail_frames: int) -> int:
    if motion.num_frames == 0:
        raise ValueError("motion has no frames")
    if not np.isfinite(motion.keypoints).all():
        raise ValueError("motion keypoints contain NaN or infinite values")
    if motion.fps <= 0:
        raise ValueError(f"motion fps must be positive, got {motion.fps}")
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} pixels, got {size}")
    if trail_frames < 0:
        raise ValueError(f"trail_frames must be >= 0, got {trail_frames}")
    return int(size) // 2 * 2  # yuv420p needs even dimensions


def _display_keypoints(keypoints: np.ndarray, smooth: bool) -> np.ndarray:
    """A float64 copy of `keypoints`, smoothed over time when asked (the caller's array is never touched)."""
    points = np.array(keypoints, dtype=np.float64)  # always a copy
    window = min(SMOOTH_WINDOW, len(points) - (1 - len(points) % 2))  # the longest odd window that fits
    if smooth and window > SMOOTH_ORDER:
        from scipy.signal import savgol_filter

        points = savgol_filter(points, window, SMOOTH_ORDER, axis=0)
    return points
