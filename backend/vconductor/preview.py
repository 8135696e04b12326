"""Preview renderings of a motion: an animated skeleton (.mp4 with optional audio, .gif) or a contact sheet (.png).

Frames are drawn with Pillow at twice the output size and box-downsampled, which anti-aliases the thick bones
for a fraction of the cost of a plotting library, and streamed as raw RGB to the ffmpeg binary that ships with
imageio-ffmpeg. The figure is framed once from the whole motion, so it never jumps around. Smoothing is for
display only and works on a copy. Every output is written to a temp file beside the destination and moved into
place at the end, so a failure never leaves a half-written file.
"""

import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from .files import atomic_output
from .motion_io import Motion
from .skeleton import DRAW_EDGES, JOINT

SUFFIXES = (".mp4", ".gif", ".png")
Progress = Callable[[float, str], None]

SUPERSAMPLE = 2  # draw at 2x, then a 2x2 box filter: cheap anti-aliasing
# Savitzky-Golay at 30 fps: window 11 / order 3 keeps the ~3 Hz beat ictus but removes frame-to-frame jitter.
SMOOTH_WINDOW = 11
SMOOTH_ORDER = 3
GIF_FPS = 15
GIF_SCALE = 0.5  # GIFs are big: half the requested size
SHEET_COLS, SHEET_ROWS = 4, 3
MIN_SIZE = 64
# veryfast: the encoder keeps pace with the Python renderer on two cores; flat colours compress well anyway.
X264_OPTIONS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]

# Palette: a dark stage, a light neutral body, the right arm warm and the left arm cool.
BG_TOP = (12, 15, 23)
BG_BOTTOM = (26, 31, 45)
TORSO_FILL = (44, 52, 72)
BODY = (222, 227, 236)
FACE = (44, 52, 72)
RIGHT = (255, 163, 72)  # amber
LEFT = (78, 201, 230)  # cyan
HUD_TEXT = (214, 220, 232)
HUD_DIM = (120, 131, 153)
HUD_TRACK = (48, 56, 76)
TORSO_LINE = (120, 130, 150)

# Bones below the face; the face is drawn as a head instead.
BODY_EDGES = tuple((a, b) for a, b in DRAW_EDGES if a >= JOINT["left_shoulder"])
RIGHT_ARM = {JOINT["right_shoulder"], JOINT["right_elbow"], JOINT["right_wrist"]}
LEFT_ARM = {JOINT["left_shoulder"], JOINT["left_elbow"], JOINT["left_wrist"]}
WRISTS = ((JOINT["right_wrist"], RIGHT), (JOINT["left_wrist"], LEFT))
ARM_JOINTS = tuple(JOINT[j] for j in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow"))
HIPS = (JOINT["left_hip"], JOINT["right_hip"])


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
        _check_audio(audio)  # before any rendering work

    report(0.0, f"rendering {out.name}")
    keypoints = _display_keypoints(motion.keypoints, smooth)
    with atomic_output(out) as tmp:
        if kind == ".mp4":
            _write_mp4(motion, keypoints, tmp, audio, size, trail_frames, report)
        elif kind == ".gif":
            _write_gif(motion, keypoints, tmp, size, trail_frames, report)
        else:
            _write_contact_sheet(motion, keypoints, tmp, size, trail_frames, report)
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


# --- output files ------------------------------------------------------------------------------------------------


def _ffmpeg_exe() -> str:
    from .audio import ffmpeg_executable

    exe = ffmpeg_executable()
    if exe is None:
        raise RuntimeError("no ffmpeg available to write video (install imageio-ffmpeg)")
    return exe


def _check_audio(audio: Path) -> None:
    """Fail early, with a clear message, on audio that ffmpeg cannot decode."""
    if not audio.is_file():
        raise FileNotFoundError(f"{audio}: audio file not found")
    # Decoding the first second finds files that are not audio at all, or have no audio stream.
    probe = ["-i", str(audio), "-map", "0:a:0", "-t", "1", "-f", "null", "-"]
    cmd = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *probe]
    result = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        reason = lines[-1] if lines else f"ffmpeg exit {result.returncode}"
        raise ValueError(f"{audio}: cannot decode audio ({reason})")


def _run_ffmpeg(args: list[str], frames: Iterable[bytes]) -> None:
    """Run ffmpeg with `frames` fed to its stdin; raise RuntimeError with its log if it fails."""
    cmd = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a chatty ffmpeg can never block on it
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        pipe_broke = False
        try:
            try:
                for frame in frames:
                    proc.stdin.write(frame)
                proc.stdin.close()
            except BrokenPipeError:
                pipe_broke = True  # ffmpeg exited early; its status and log say why
            returncode = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted or a rendering error: stop ffmpeg, then re-raise
                proc.kill()
                proc.wait()
            with suppress(OSError):
                proc.stdin.close()
        if returncode != 0 or pipe_broke:
            log.seek(0)
            message = log.read().decode(errors="replace").strip()[-2000:] or "no message"
            raise RuntimeError(f"ffmpeg failed (exit {returncode}): {message}")


def _raw_video_input(size: int, fps: float) -> list[str]:
    """ffmpeg input options for square RGB frames on stdin."""
    geometry = ["-s", f"{size}x{size}", "-framerate", f"{fps:g}"]
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", *geometry, "-i", "-"]


def _frame_bytes(renderer: "_FrameRenderer", indices: range, report: Progress, label: str) -> Iterator[bytes]:
    every = max(1, len(indices) // 100)
    for k, i in enumerate(indices):
        if k % every == 0:
            report(0.98 * k / len(indices), f"{label}: frame {k}/{len(indices)}")
        yield renderer.frame(i).tobytes()


def _write_mp4(
    motion: Motion,
    keypoints: np.ndarray,
    tmp: Path,
    audio: Path | None,
    size: int,
    trail_frames: int,
    report: Progress,
) -> None:
    renderer = _FrameRenderer(motion, keypoints, size, trail_frames)
    duration = f"{motion.num_frames / motion.fps:.6f}"
    args = _raw_video_input(size, motion.fps)
    if audio is not None:
        args += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "192k"]
        # Audio time 0 is frame 0; cut or pad with silence to exactly the video length.
        args += ["-af", f"asetpts=PTS-STARTPTS,atrim=duration={duration},apad=whole_dur={duration}"]
    args += X264_OPTIONS + ["-t", duration, "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    _run_ffmpeg(args, _frame_bytes(renderer, range(motion.num_frames), report, "video"))


def _write_gif(
    motion: Motion, keypoints: np.ndarray, tmp: Path, size: int, trail_frames: int, report: Progress
) -> None:
    gif_size = max(MIN_SIZE, int(size * GIF_SCALE)) // 2 * 2
    step = max(1, round(motion.fps / GIF_FPS))
    renderer = _FrameRenderer(motion, keypoints, gif_size, trail_frames)
    indices = range(0, motion.num_frames, step)
    with tempfile.TemporaryDirectory() as scratch:
        # A palette fixed up front lets ffmpeg stream; one computed from the whole video would make it hold
        # every frame until the end.
        palette = Path(scratch) / "palette.png"
        _gif_palette(renderer, indices).save(palette)
        args = _raw_video_input(gif_size, motion.fps / step) + ["-i", str(palette)]
        args += ["-lavfi", "[0:v][1:v]paletteuse=dither=bayer:bayer_scale=4"]
        args += ["-loop", "0", "-f", "gif", str(tmp)]
        _run_ffmpeg(args, _frame_bytes(renderer, indices, report, "gif"))


def _gif_palette(renderer: "_FrameRenderer", indices: range, samples: int = 16):
    """A 16x16 image of the 256 colours that best cover a few evenly spaced frames (ffmpeg's paletteuse input)."""
    from PIL import Image

    picks = np.unique(np.linspace(0, len(indices) - 1, samples).round().astype(int))
    mosaic = np.concatenate([np.asarray(renderer.frame(indices[k])) for k in picks], axis=0)
    quantized = Image.fromarray(mosaic).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    colours = np.zeros((256, 3), np.uint8)
    used = np.array(quantized.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)
    colours[: len(used)] = used
    return Image.fromarray(colours.reshape(16, 16, 3))


def _write_contact_sheet(
    motion: Motion, keypoints: np.ndarray, tmp: Path, size: int, trail_frames: int, report: Progress
) -> None:
    """A grid of evenly spaced frames, each labelled with its time, under a title line."""
    from PIL import Image, ImageDraw

    panel = size // 2
    renderer = _FrameRenderer(motion, keypoints, panel, trail_frames, hud=False)
    title_h = max(24, panel // 5)
    sheet = Image.new("RGB", (SHEET_COLS * panel, title_h + SHEET_ROWS * panel), BG_TOP)
    draw = ImageDraw.Draw(sheet)

    source = Path(motion.source).name if motion.source else "untitled"
    details = f"{motion.model}  ·  seed {motion.seed}  ·  {_format_time(motion.duration_s)}"
    title_font, detail_font = _font(title_h * 0.42, bold=True), _font(title_h * 0.32)
    draw.text((title_h * 0.4, title_h * 0.5), source, font=title_font, fill=HUD_TEXT, anchor="lm")
    right = sheet.width - title_h * 0.4
    draw.text((right, title_h * 0.5), details, font=detail_font, fill=HUD_DIM, anchor="rm")

    label_font = _font(panel * 0.065, bold=True)
    count = SHEET_COLS * SHEET_ROWS
    frames = np.linspace(0, motion.num_frames - 1, count).round().astype(int)
    for k, i in enumerate(frames):
        report(0.95 * k / count, f"contact sheet: panel {k + 1}/{count}")
        x, y = (k % SHEET_COLS) * panel, title_h + (k // SHEET_COLS) * panel
        sheet.paste(renderer.frame(int(i)), (x, y))
        draw.rectangle((x, y, x + panel - 1, y + panel - 1), outline=HUD_TRACK)
        label = _format_time(i / motion.fps)
        draw.text((x + panel * 0.05, y + panel * 0.04), label, font=label_font, fill=HUD_TEXT)
    sheet.save(tmp, format="PNG", optimize=False)


# --- drawing -----------------------------------------------------------------------------------------------------


def _format_time(seconds: float) -> str:
    tenths = round(max(0.0, seconds) * 10)  # round once, so 59.97 s reads 01:00.0, not 00:60.0
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths // 10:02d}.{tenths % 10}"


def _font(px: float, bold: bool = False):
    """DejaVu Sans from matplotlib's data (a dependency; equal-width digits keep the clock still), else Pillow's."""
    from PIL import ImageFont

    px = max(8, round(px))
    spec = find_spec("matplotlib")  # locates the package without importing it
    if spec and spec.origin:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        with suppress(OSError):
            return ImageFont.truetype(str(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name), px)
    return ImageFont.load_default(size=px)


def _blend(a: tuple, b: tuple, t: float) -> tuple:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def _median_distance(keypoints: np.ndarray, a: str, b: str) -> float:
    return float(np.median(np.linalg.norm(keypoints[:, JOINT[a]] - keypoints[:, JOINT[b]], axis=1)))


def _fit_framing(keypoints: np.ndarray, head_radius: float, box: tuple) -> tuple[float, np.ndarray]:
    """Scale and offset mapping motion coordinates into `box` (x0, y0, x1, y1), fixed for the whole motion.

    Robust percentiles ignore the odd wild frame; the aspect ratio is kept and the figure centred.
    """
    lo = np.percentile(keypoints, 0.5, axis=(0, 1)) - head_radius
    hi = np.percentile(keypoints, 99.5, axis=(0, 1)) + head_radius
    extent = np.maximum(hi - lo, 0.1)  # a motionless point still gets a sensible scale
    x0, y0, x1, y1 = box
    scale = min((x1 - x0) / extent[0], (y1 - y0) / extent[1])
    offset = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - scale * (lo + hi) / 2
    return scale, offset


def _stage(side: int):
    """The backdrop: a dark vertical gradient."""
    from PIL import Image

    ramp = np.linspace(0, 1, side)[:, None, None]
    gradient = np.array(BG_TOP) * (1 - ramp) + np.array(BG_BOTTOM) * ramp
    return Image.fromarray(np.broadcast_to(gradient, (side, side, 3)).round().astype(np.uint8))


class _FrameRenderer:
    """Draws frame `i` of a motion as a square RGB image of side `size`.

    Only the box around the figure is drawn at 2x and downsampled (that is where anti-aliasing matters); the
    rest of the frame is the prepared background, and the HUD text, anti-aliased by FreeType, is drawn at 1x.
    """

    def __init__(self, motion: Motion, keypoints: np.ndarray, size: int, trail_frames: int, hud: bool = True):
        from PIL import ImageDraw

        self.new_draw = ImageDraw.Draw
        self.size = size
        self.fps = motion.fps
        self.num_frames = len(keypoints)
        self.hud = hud
        self._layout(keypoints, trail_frames)
        self.stage = _stage(size * SUPERSAMPLE)
        if hud:
            self._draw_static_hud(motion)
        # Exactly what a downsampled crop of the empty stage looks like, so pasted figures leave no seams.
        self.background = self.stage.reduce(SUPERSAMPLE)

    def _layout(self, keypoints: np.ndarray, trail_frames: int) -> None:
        """Canvas coordinates of every joint and the sizes of everything drawn, all in supersampled pixels."""
        canvas = self.size * SUPERSAMPLE
        shoulder_width = _median_distance(keypoints, "left_shoulder", "right_shoulder")
        ear_width = _median_distance(keypoints, "left_ear", "right_ear")
        head_radius = max(0.6 * ear_width, 0.16 * shoulder_width, 1e-3)

        pad = 0.06 * canvas
        top = (0.11 if self.hud else 0.13) * canvas  # room for the clock or the contact-sheet label
        bottom = (0.07 if self.hud else 0.04) * canvas  # room for the progress bar
        scale, offset = _fit_framing(keypoints, head_radius, (pad, top, canvas - pad, canvas - bottom))
        self.points = keypoints * scale + offset  # (frames, 13, 2)
        face = [JOINT[j] for j in ("left_ear", "right_ear", "left_eye", "right_eye")]
        self.head_centres = self.points[:, face].mean(axis=1)

        body_px = max(shoulder_width * scale, 0.05 * canvas)  # line widths follow the figure, not the canvas
        self.bone_width = max(2, round(0.065 * body_px))
        self.joint_radius = 0.62 * self.bone_width
        self.wrist_radius = 0.95 * self.bone_width
        self.head_radius = head_radius * scale
        self.face_dot = max(1.5, 0.09 * self.head_radius)
        self.reach = self.wrist_radius + SUPERSAMPLE  # how far ink goes beyond a joint

        fade = (1 - np.arange(trail_frames) / max(trail_frames, 1)) ** 1.5  # by age, 0 = newest
        self.trail_widths = [max(1, round(0.75 * self.bone_width * f)) for f in fade]
        self.trail_colours = [[_blend(BG_BOTTOM, colour, f) for f in fade] for _, colour in WRISTS]
        self.bones = [(a, b, *self._bone_style(a, b)) for a, b in BODY_EDGES]

    def _bone_style(self, a: int, b: int) -> tuple[tuple, int]:
        """Arms tinted by side; the torso outline quieter than the arms, which are what conducts."""
        if {a, b} <= RIGHT_ARM:
            return _blend(BODY, RIGHT, 0.55), self.bone_width
        if {a, b} <= LEFT_ARM:
            return _blend(BODY, LEFT, 0.55), self.bone_width
        if {a, b} == {JOINT["left_shoulder"], JOINT["right_shoulder"]}:
            return BODY, self.bone_width
        return TORSO_LINE, max(2, round(0.6 * self.bone_width))

    def _draw_static_hud(self, motion: Motion) -> None:
        """Model id, total time and the progress track, drawn once into the (supersampled) stage."""
        draw = self.new_draw(self.stage)
        unit = self.size / 100  # one percent of the output frame
        margin = 3.5 * unit
        self.clock_font = _font(3.4 * unit, bold=True)
        self.clock_xy = (margin, margin)
        self.bar = (margin, 97 * unit, self.size - margin, 97 * unit + max(1, 0.5 * unit))

        ss = SUPERSAMPLE
        small = _font(2.7 * unit * ss)
        baseline = (margin + self.clock_font.getmetrics()[0]) * ss
        clock_width = draw.textlength("00:00.0", font=self.clock_font) * ss
        total = f" / {_format_time(self.num_frames / self.fps)}"
        draw.text((margin * ss + clock_width, baseline), total, font=small, fill=HUD_DIM, anchor="ls")
        draw.text(((self.size - margin) * ss, baseline), motion.model, font=small, fill=HUD_DIM, anchor="rs")
        draw.rectangle(tuple(v * ss for v in self.bar), fill=HUD_TRACK)

    def frame(self, i: int):
        image = self.background.copy()
        trail_start = max(0, i - len(self.trail_widths) + 1)
        box = self._figure_box(i, trail_start)
        if box is not None:
            figure = self.stage.crop(box)
            origin = np.array(box[:2], dtype=np.float64)
            draw = self.new_draw(figure)
            self._draw_trails(draw, self.points[trail_start : i + 1] - origin)
            self._draw_body(draw, self.points[i] - origin, self.head_centres[i] - origin)
            image.paste(figure.reduce(SUPERSAMPLE), (box[0] // SUPERSAMPLE, box[1] // SUPERSAMPLE))
        if self.hud:
            self._draw_hud(self.new_draw(image), i)
        return image

    def _figure_box(self, i: int, trail_start: int) -> tuple[int, int, int, int] | None:
        """The supersampled box holding all ink of frame `i`, on the downsampling grid; None when off-canvas."""
        wrists = [joint for joint, _ in WRISTS]
        ink = np.concatenate([self.points[i], self.points[trail_start : i + 1, wrists].reshape(-1, 2)])
        head = self.head_centres[i]
        lo = np.minimum(ink.min(axis=0), head - self.head_radius) - self.reach
        hi = np.maximum(ink.max(axis=0), head + self.head_radius) + self.reach
        x0, y0 = (np.clip(np.floor(lo / SUPERSAMPLE), 0, self.size) * SUPERSAMPLE).astype(int)
        x1, y1 = (np.clip(np.ceil(hi / SUPERSAMPLE), 0, self.size) * SUPERSAMPLE).astype(int)
        if x1 <= x0 or y1 <= y0:
            return None
        return int(x0), int(y0), int(x1), int(y1)

    def _draw_trails(self, draw, recent: np.ndarray) -> None:
        """Fading wrist trails over the `recent` frames (oldest first, so the newest segment lands on top)."""
        for (joint, _), colours in zip(WRISTS, self.trail_colours, strict=True):
            path = recent[:, joint]
            for k in range(1, len(path)):
                age = len(path) - 1 - k
                width = self.trail_widths[age]
                draw.line((*path[k - 1], *path[k]), fill=colours[age], width=width)
                if width > 3:  # round the joins of thick segments
                    _dot(draw, path[k], width / 2, colours[age])

    def _draw_body(self, draw, p: np.ndarray, head_centre: np.ndarray) -> None:
        torso = [tuple(p[JOINT[j]]) for j in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
        draw.polygon(torso, fill=TORSO_FILL)
        neck = (p[JOINT["left_shoulder"]] + p[JOINT["right_shoulder"]]) / 2
        draw.line((*neck, *head_centre), fill=BODY, width=self.bone_width)
        for a, b, colour, width in self.bones:
            draw.line((*p[a], *p[b]), fill=colour, width=width)
        for joint in HIPS:
            _dot(draw, p[joint], 0.5 * self.bone_width, TORSO_LINE)
        for joint in ARM_JOINTS:
            _dot(draw, p[joint], self.joint_radius, BODY)
        for joint, colour in WRISTS:
            _dot(draw, p[joint], self.wrist_radius, colour)
            _dot(draw, p[joint], 0.4 * self.wrist_radius, BODY)
        self._draw_head(draw, p, head_centre)

    def _draw_head(self, draw, p: np.ndarray, centre: np.ndarray) -> None:
        _dot(draw, centre, self.head_radius, BODY)
        # The eyes and nose show where the conductor looks.
        for joint in ("left_eye", "right_eye"):
            _dot(draw, p[JOINT[joint]], self.face_dot, FACE)
        _dot(draw, p[JOINT["nose"]], 1.3 * self.face_dot, FACE)

    def _draw_hud(self, draw, i: int) -> None:
        draw.text(self.clock_xy, _format_time(i / self.fps), font=self.clock_font, fill=HUD_TEXT)
        x0, y0, x1, y1 = self.bar
        draw.rectangle((x0, y0, x0 + (x1 - x0) * (i + 1) / self.num_frames, y1), fill=HUD_TEXT)


def _dot(draw, centre, radius: float, fill) -> None:
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
