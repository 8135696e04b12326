"""The wrist path as pieces of arcs, each walked with a stop at both ends, and its evaluation at frame times
(docs/conducting.md#arcs)."""

from dataclasses import dataclass

import numpy as np
from scipy.special import betainc

from .tuning import ARC_SAMPLES, SPEED_FIX_PASSES


@dataclass
class PathPieces:
    """Pieces of a wrist path. Piece i runs from `start[i]` at `start_s[i]` to `end[i]` at `end_s[i]` along an
    arc: a circle through both ends in a frame stretched `stretch[i]` times vertically, bulging `bulge[i]` from
    the chord (signed: positive is up for a chord pointing to image-right), walked at a speed proportional to
    u^c (1-u)^c at phase u (c = `sharpness`). Between pieces the hand holds still."""

    start_s: np.ndarray
    end_s: np.ndarray
    start: np.ndarray  # (N, 2)
    end: np.ndarray  # (N, 2)
    bulge: np.ndarray
    level: np.ndarray  # bool: the arc rises from a level chord (beats), else from the chord itself (moves)
    stretch: np.ndarray
    sharpness: np.ndarray

    FIELDS = ("start_s", "end_s", "start", "end", "bulge", "level", "stretch", "sharpness")

    @classmethod
    def concat(cls, parts: list["PathPieces"]) -> "PathPieces":
        joined = [np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS]
        order = np.argsort(joined[0], kind="stable")
        return cls(*(x[order] for x in joined))

    def pick(self, index: np.ndarray) -> "PathPieces":
        return PathPieces(*(getattr(self, f)[index] for f in self.FIELDS))


def path_piece(start_s, end_s, start, end, bulge=0.0, sharpness=1.3, level=False, stretch=1.0) -> PathPieces:
    """One piece as a PathPieces of length 1."""
    values = (start_s, end_s, start, end, bulge, level, stretch, sharpness)
    piece = PathPieces(*(np.array([x], dtype=float) for x in values))
    piece.level = piece.level.astype(bool)
    return piece


def arc_points(pieces: PathPieces, frac: np.ndarray) -> np.ndarray:
    """Points (N, K, 2) at fractions (N, K) of each piece's turning angle."""
    stretch = pieces.stretch[:, None]
    level = pieces.level[:, None]
    y0, y1 = pieces.start[:, 1:], pieces.end[:, 1:]
    # A level arc is built on a horizontal chord and then tilted by a smooth step (flat at both ends), so it
    # leaves and enters its ends exactly as a level one would: straight up and straight down onto the beat.
    start_y = np.where(pieces.level, 0.0, pieces.start[:, 1]) / pieces.stretch
    end_y = np.where(pieces.level, 0.0, pieces.end[:, 1]) / pieces.stretch
    p0 = np.stack([pieces.start[:, 0], start_y], axis=1)[:, None]
    p1 = np.stack([pieces.end[:, 0], end_y], axis=1)[:, None]
    chord = p1 - p0
    length = np.linalg.norm(chord, axis=-1)
    along = np.where(length[..., None] > 1e-12, chord / np.maximum(length, 1e-12)[..., None], [1.0, 0.0])
    normal = np.stack([along[..., 1], -along[..., 0]], axis=-1)
    # The circle through both ends rising h above the chord's middle: radius r, turning angle theta.
    h = np.maximum(np.abs(pieces.bulge[:, None]) / stretch, 1e-9)
    radius = (length**2 + 4 * h**2) / (8 * h)
    psi = 4 * np.arctan2(2 * h, length) * (frac - 0.5)
    u = radius * np.sin(psi)
    v = h - 2 * radius * np.sin(psi / 2) ** 2
    straight = np.abs(pieces.bulge[:, None]) < 1e-7  # a straight line, or a hold
    u = np.where(straight, (frac - 0.5) * length, u)
    v = np.where(straight, 0.0, v) * np.sign(pieces.bulge[:, None])
    points = p0 + along * (length / 2 + u)[..., None] + normal * v[..., None]
    points[..., 1] *= stretch
    points[..., 1] += np.where(level, y0 + (y1 - y0) * frac * frac * (3 - 2 * frac), 0.0)
    return points


def evaluate_path(pieces: PathPieces, times: np.ndarray) -> np.ndarray:
    """Wrist positions (T, 2) at `times`: on the piece in progress, else held at the last piece's end."""
    piece = np.clip(np.searchsorted(pieces.start_s, times, side="right") - 1, 0, len(pieces.start_s) - 1)
    span = np.maximum(pieces.end_s[piece] - pieces.start_s[piece], 1e-9)
    u = np.clip((times - pieces.start_s[piece]) / span, 0.0, 1.0)
    exponent = pieces.sharpness[piece]
    walked = betainc(exponent + 1, exponent + 1, u)  # the fraction of the arc's length walked
    table = arc_length_table(pieces)
    picked = pieces.pick(piece)
    for _ in range(SPEED_FIX_PASSES):
        points = arc_points(picked, angle_at(table, piece, walked)[:, None])[:, 0]
        walked = respace_for_sampled_speed(piece, walked, points)
    return arc_points(picked, angle_at(table, piece, walked)[:, None])[:, 0]


def angle_at(table, piece: np.ndarray, walked: np.ndarray) -> np.ndarray:
    """Angle fraction of each frame's `piece` at arc-length fraction `walked`: cubic Hermite with exact slopes, so the speed
    it gives has no ripples."""
    knots, values, slopes = table
    rows = knots[piece]
    k = np.clip((rows < walked[:, None]).sum(axis=1) - 1, 0, ARC_SAMPLES - 1)
    lo, hi = np.take_along_axis(rows, k[:, None], 1)[:, 0], np.take_along_axis(rows, k[:, None] + 1, 1)[:, 0]
    width = np.maximum(hi - lo, 1e-12)
    t = np.clip((walked - lo) / width, 0.0, 1.0)
    t2, t3 = t * t, t * t * t
    m0 = np.take_along_axis(slopes[piece], k[:, None], 1)[:, 0]
    m1 = np.take_along_axis(slopes[piece], k[:, None] + 1, 1)[:, 0]
    angle = (2 * t3 - 3 * t2 + 1) * values[k] + (3 * t2 - 2 * t3) * values[k + 1]
    angle += ((t3 - 2 * t2 + t) * m0 + (t3 - t2) * m1) * width
    return np.where(walked >= 1, 1.0, np.where(walked <= 0, 0.0, np.clip(angle, 0.0, 1.0)))


def respace_for_sampled_speed(piece: np.ndarray, walked: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Re-space the frames along each piece so that the speed measured from them (central differences) follows
    the designed profile over the turns; each piece's frames keep their first and last places."""
    n = len(piece)
    same = piece[1:] == piece[:-1]
    inside = np.zeros(n, bool)
    inside[1:-1] = same[:-1] & same[1:]
    arc_len = np.zeros(n)
    chord = np.zeros(n)
    step = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc_len[1:-1] = step[:-1] + step[1:]
    chord[1:-1] = np.linalg.norm(points[2:] - points[:-2], axis=1)
    ratio = np.where(inside & (chord > 1e-12), arc_len / np.maximum(chord, 1e-12), 1.0)
    ratio = np.clip(ratio, 1.0, 1.1)  # small corrections only: a tight loop at speed is beyond any fix
    walked_step = np.diff(walked)
    new_step = np.where(same, walked_step * (ratio[1:] + ratio[:-1]) / 2, 0.0)
    old_total = np.bincount(piece[:-1], np.where(same, walked_step, 0.0), minlength=piece.max() + 1)
    new_total = np.bincount(piece[:-1], new_step, minlength=piece.max() + 1)
    new_step *= np.where(same, old_total[piece[:-1]] / np.maximum(new_total[piece[:-1]], 1e-15), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(new_step)])
    first = np.concatenate([[True], ~same])
    base = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    return np.clip(walked[base] + cum - cum[base], 0.0, 1.0)


def arc_length_table(pieces: PathPieces) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per piece: arc-length fractions (N, K+1) at evenly spaced angle fractions `values` (K+1,), and the
    slopes d(angle)/d(length fraction) there, from Simpson's rule on the exact speed."""
    n = len(pieces.start_s)
    fine = np.linspace(0.0, 1.0, 2 * ARC_SAMPLES + 1)
    eps = 1e-5
    ahead = arc_points(pieces, np.broadcast_to(np.minimum(fine + eps, 1.0), (n, len(fine))))
    behind = arc_points(pieces, np.broadcast_to(np.maximum(fine - eps, 0.0), (n, len(fine))))
    step = np.minimum(fine + eps, 1.0) - np.maximum(fine - eps, 0.0)
    speed = np.linalg.norm(ahead - behind, axis=-1) / step
    interval_length = (speed[:, :-2:2] + 4 * speed[:, 1:-1:2] + speed[:, 2::2]) / (6 * ARC_SAMPLES)
    length = np.concatenate([np.zeros((n, 1)), np.cumsum(interval_length, axis=1)], axis=1)
    total = np.maximum(length[:, -1:], 1e-12)
    slopes = total / np.maximum(speed[:, ::2], 1e-12)
    flat = length[:, -1] < 1e-9  # a hold: nothing to walk
    knots = np.where(flat[:, None], fine[::2], length / total)
    slopes = np.where(flat[:, None], 1.0, slopes)
    return knots, fine[::2], slopes
