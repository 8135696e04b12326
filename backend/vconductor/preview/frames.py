"""The frame renderer: framing the figure once for the whole motion, the stage, and drawing one frame.

Frames are drawn with Pillow at twice the output size and box-downsampled, which anti-aliases the thick bones
for a fraction of the cost of a plotting library.
"""

from contextlib import suppress
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from ..motion_io import Motion
from ..skeleton import DRAW_EDGES, JOINT, NUM_JOINTS

SUPERSAMPLE = 2  # draw at 2x, then a 2x2 box filter: cheap anti-aliasing
MIN_SIZE = 64

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
BATON = (246, 240, 224)  # ivory

# Bones below the face; the face is drawn as a head instead.
BODY_EDGES = tuple((a, b) for a, b in DRAW_EDGES if a >= JOINT["left_shoulder"])
RIGHT_ARM = {JOINT["right_shoulder"], JOINT["right_elbow"], JOINT["right_wrist"]}
LEFT_ARM = {JOINT["left_shoulder"], JOINT["left_elbow"], JOINT["left_wrist"]}
WRISTS = ((JOINT["right_wrist"], RIGHT), (JOINT["left_wrist"], LEFT))
ARM_JOINTS = tuple(JOINT[j] for j in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow"))
HIPS = (JOINT["left_hip"], JOINT["right_hip"])


def format_time(seconds: float) -> str:
    tenths = round(max(0.0, seconds) * 10)  # round once, so 59.97 s reads 01:00.0, not 00:60.0
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths // 10:02d}.{tenths % 10}"


def load_font(px: float, bold: bool = False):
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


def _baton_hand(points: np.ndarray) -> int:
    """The wrist that holds the baton for the whole take: the one nearer its tip over most frames (frame by
    frame, a baton pointing across the body at the ictus came nearer the other hand and jumped to it)."""
    tip = points[:, NUM_JOINTS]
    return min(
        (joint for joint, _ in WRISTS), key=lambda j: np.median(np.linalg.norm(points[:, j] - tip, axis=1))
    )


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


class FrameRenderer:
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
        self.points = keypoints * scale + offset  # (frames, 13, 2), or 14 with the baton tip last
        self.baton_hand = _baton_hand(self.points) if self.points.shape[1] > NUM_JOINTS else None
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
        self.clock_font = load_font(3.4 * unit, bold=True)
        self.clock_xy = (margin, margin)
        self.bar = (margin, 97 * unit, self.size - margin, 97 * unit + max(1, 0.5 * unit))

        ss = SUPERSAMPLE
        small = load_font(2.7 * unit * ss)
        baseline = (margin + self.clock_font.getmetrics()[0]) * ss
        clock_width = draw.textlength("00:00.0", font=self.clock_font) * ss
        total = f" / {format_time(self.num_frames / self.fps)}"
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
        if self.baton_hand is not None:
            draw.line(
                (*p[self.baton_hand], *p[NUM_JOINTS]), fill=BATON, width=max(1, round(0.3 * self.bone_width))
            )
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
        draw.text(self.clock_xy, format_time(i / self.fps), font=self.clock_font, fill=HUD_TEXT)
        x0, y0, x1, y1 = self.bar
        draw.rectangle((x0, y0, x0 + (x1 - x0) * (i + 1) / self.num_frames, y1), fill=HUD_TEXT)


def _dot(draw, centre, radius: float, fill) -> None:
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
