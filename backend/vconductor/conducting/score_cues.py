"""Cues from the score's entries (docs/conducting.md#score): shortly before a part enters, the left hand (the
baton for a loud entry, or when the left hand is busy) lifts and points towards the section's seat, and the
head turns there. Replaces the audio-guessed cues (cues.py) when the score lists entries."""

from dataclasses import dataclass

import numpy as np

from . import tuning as tun
from .beat_plan import Performance
from .score_guide import Entry, ScoreGuide
from .seating import Seat, seat_of
from .tuning import SHOULDER_CENTRE, SHOULDER_HALF_WIDTH


@dataclass
class CuePlan:
    """Per frame: how far each hand is into a cue (0..1), where it goes, and the head's turn."""

    left: np.ndarray  # (T,) the left hand's cue envelope
    left_target: np.ndarray  # (T, 2) where the cueing left wrist is in the image
    left_depth: np.ndarray  # (T,) ... and how far in front of the shoulders' plane
    baton: np.ndarray  # (T,) the baton's cue envelope
    baton_shift: np.ndarray  # (T, 2) the right hand's pattern moved towards the section (image)
    baton_depth: np.ndarray  # (T,) ... and forward
    mirrored_shift: np.ndarray  # (T, 3) a left hand mirroring the baton opens towards a section on its side
    head_yaw: np.ndarray  # (T,) radians, positive towards the conductor's left ...
    head: np.ndarray  # (T,) ... and how far the head is into a cue (0..1)

    @classmethod
    def empty(cls, n: int) -> "CuePlan":
        zero, pair = np.zeros(n), np.zeros((n, 2))
        return cls(zero, pair, zero, zero, pair, zero, np.zeros((n, 3)), zero, zero)


def score_cues(guide: ScoreGuide, performance: Performance, mirroring: np.ndarray, seed: int) -> CuePlan:
    """The cues of the score's entries: each hand cues at most once per its spacing; the left hand only where
    it is free (not mirroring the right), loud entries with the baton; sections entering together on both
    sides are split, the left hand to those on the left, the baton to those on the right. Each cue's details
    are drawn from its own random numbers (the seed and its entry's time), so one entry more or less changes
    no other cue."""
    beats, music, config, times = performance.beats, performance.music, performance.config, performance.times
    n = len(times)
    if len(beats.times) == 0 or n < 2:
        return CuePlan.empty(n)
    base_spacing = tun.SCORE_CUE_SPACING * config.left_cue_spacing_s
    last = {"left": -np.inf, "baton": -np.inf, "mirrored": -np.inf}
    sums = {key: np.zeros(n) for key in ("left", "baton", "mirrored", "head")}
    values = {key: np.zeros((n, 3)) for key in ("left", "baton", "mirrored")} | {"head": np.zeros(n)}
    for group in _entry_groups(guide.entries):
        entry = group[0].time_s
        if not beats.times[0] - 0.1 <= entry <= beats.times[-1] + 0.1:
            continue
        period = float(np.interp(entry, beats.times, beats.period))
        spacing = min(base_spacing, tun.SCORE_CUE_SPACING_BEATS * period)
        free = mirroring[min(int(entry * music.fps), n - 1)] < 0.3 and entry - last["left"] >= spacing
        ready = {"left": free, "baton": entry - last["baton"] >= spacing, "mirrored": True}
        hands = _hands(group, free)
        if len(hands) == 1 and not ready[hands[0][0]]:  # that hand is still busy: the other one, if it can
            hands = [("left" if hands[0][0] == "baton" else "baton", group)]
        hands = [(hand, members) for hand, members in hands if ready[hand]]
        if not hands:
            continue
        rng = np.random.default_rng([seed % 2**32, 15, max(int(round(entry * 1000)), 0)])
        lead = rng.uniform(*tun.SCORE_CUE_LEAD_BEATS) * period
        rise = min(max(lead, tun.SCORE_CUE_MIN_RISE_S), period)
        hold = float(np.clip(tun.SCORE_CUE_POINT_BEATS * period, 0.25, 0.5))
        span, envelope = _raise_point_lower(times, music.fps, entry - rise, entry, hold)
        jitter = 0.01 * config.variation * rng.standard_normal((2, 3))
        for (hand, members), shake in zip(hands, jitter, strict=False):
            last[hand] = entry
            sums[hand][span] += envelope
            shake = shake if hand == "left" else tun.BATON_CUE_JITTER * shake  # less than the free hand's
            values[hand][span] += envelope[:, None] * (_pose(_group_seat(members), hand) + shake)
        span, head = _raise_point_lower(
            times, music.fps, entry - rise - tun.HEAD_LEAD_BEATS * period, entry, hold
        )
        turn = np.clip(_group_seat(group).azimuth_deg, -tun.HEAD_TURN_MAX_DEG, tun.HEAD_TURN_MAX_DEG)
        sums["head"][span] += head
        values["head"][span] += head * tun.HEAD_TURN * np.radians(turn)
    left, baton = _blend(sums["left"], values["left"]), _blend(sums["baton"], values["baton"])
    mirrored = _blend(sums["mirrored"], values["mirrored"]) * np.minimum(sums["mirrored"], 1.0)[:, None]
    return CuePlan(
        left=np.minimum(sums["left"], 1.0),
        left_target=left[:, :2],
        left_depth=left[:, 2],
        baton=np.minimum(sums["baton"], 1.0),
        baton_shift=baton[:, :2] * np.minimum(sums["baton"], 1.0)[:, None],
        baton_depth=baton[:, 2] * np.minimum(sums["baton"], 1.0),
        mirrored_shift=mirrored,
        head_yaw=values["head"] / np.maximum(sums["head"], 1.0),
        head=np.minimum(sums["head"], 1.0),
    )


def _entry_groups(entries: tuple[Entry, ...]) -> list[list[Entry]]:
    """The entries in time order, those within SCORE_CUE_GROUP_S of a group's first taken together."""
    usable = sorted((e for e in entries if np.isfinite(e.time_s)), key=lambda e: e.time_s)
    groups: list[list[Entry]] = []
    for entry in usable:
        if groups and entry.time_s - groups[-1][0].time_s <= tun.SCORE_CUE_GROUP_S:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def _hands(group: list[Entry], left_free: bool) -> list[tuple[str, list[Entry]]]:
    """Which hand cues which of the entering parts: the left hand (when free) a quiet entry, the baton a loud
    one; parts on both sides at once: the left hand those on the left (opening out from the baton's mirror
    image where it is mirroring, as for the first entry), the baton the others."""
    on_left = [e for e in group if seat_of(e.instrument).side > 0]
    on_right = [e for e in group if seat_of(e.instrument).side < 0]
    if on_left and on_right:
        rest = [e for e in group if e not in on_left]
        return [("left" if left_free else "mirrored", on_left), ("baton", rest)]
    if not left_free:
        return [("baton", group)]
    return [("baton" if any(e.loud for e in group) else "left", group)]


def _group_seat(group: list[Entry]) -> Seat:
    """Where a cue points: the entering section's seat (several entering together: their mean direction)."""
    seats = [seat_of(e.instrument) for e in group]
    if len(seats) == 1:
        return seats[0]
    names = " + ".join(sorted({s.section for s in seats}))
    return Seat(
        names,
        float(np.mean([s.azimuth_deg for s in seats])),
        float(np.mean([s.elevation_deg for s in seats])),
    )


def _pose(seat: Seat, hand: str) -> np.ndarray:
    """(x, y, depth): for the left hand, where the wrist goes (from its shoulder towards the seat); for the
    baton, how far the pattern moves towards the seat."""
    d = seat.direction
    if hand != "left":
        return np.array([tun.BATON_CUE_SHIFT * d[0], -tun.BATON_CUE_LIFT, tun.BATON_CUE_REACH * d[2]])
    shoulder = SHOULDER_CENTRE + [SHOULDER_HALF_WIDTH, 0.0]
    x, y = shoulder + [tun.CUE_REACH * d[0], tun.CUE_BELOW_SHOULDER + tun.CUE_REACH * d[1]]
    return np.array([x, y, tun.CUE_FORWARD + tun.CUE_REACH * d[2]])


def _raise_point_lower(
    times: np.ndarray, fps: float, start: float, point: float, hold: float
) -> tuple[slice, np.ndarray]:
    """0..1: up from `start` to `point` (raised cosine), held `hold`, lowered over SCORE_CUE_FALL_S; only
    over the frames it spans (and that slice of `times`)."""
    lo = min(max(int(np.floor(start * fps)), 0), len(times))
    hi = min(max(int(np.ceil((point + hold + tun.SCORE_CUE_FALL_S) * fps)) + 1, lo), len(times))
    times = times[lo:hi]
    rise = np.clip((times - start) / max(point - start, 1e-3), 0, 1)
    fall = np.clip((times - point - hold) / tun.SCORE_CUE_FALL_S, 0, 1)
    return slice(lo, hi), (0.5 - 0.5 * np.cos(np.pi * rise)) * (0.5 + 0.5 * np.cos(np.pi * fall))


def _blend(weights: np.ndarray, weighted: np.ndarray) -> np.ndarray:
    """The weighted mean of overlapping cues' poses (zeros where no cue)."""
    return weighted / np.maximum(weights, 1e-9)[:, None] * (weights > 0)[:, None]
