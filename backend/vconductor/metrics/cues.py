"""Cue gestures measured in the motion: the same performance with and without an entry's cue (same seed), and
where the two part around the entry (docs/conducting.md#score). Body-frame 3D joints: x the conductor's left,
y down, z forward."""

from dataclasses import dataclass

import numpy as np

from ..skeleton import JOINT

MIN_CUE_DISPLACEMENT = 0.02  # a hand moved less than this (shoulder width 0.2) gave no cue
START_FRACTION = 0.1  # the gesture starts where the hand is this fraction of the way to its peak


@dataclass(frozen=True)
class MeasuredCue:
    entry_s: float
    hand: str  # "left", "right" (the baton) or "none"
    start_s: float  # NaN without a cue
    lead_beats: float  # how many local beats before the entry the gesture starts
    azimuth_deg: float  # where the cue points in the (x, z) plane at the entry: + the conductor's left
    head_yaw_deg: float  # the head's turn at the entry: + towards the conductor's left


def measure_cue(
    cued: np.ndarray, without: np.ndarray, entry_s: float, period_s: float, fps: float, after_s: float = 1.0
) -> list[MeasuredCue]:
    """The cue of the entry at `entry_s` (local beat period `period_s`): `cued` and `without` are the body-frame
    joints (T, 13, 3) of the performance with and without that entry (or the entries sounding with it). Each
    hand that departs from `without` by MIN_CUE_DISPLACEMENT or more between two beats before and `after_s`
    after the entry, the earliest first (none: one "none" row): removing an entry changes no earlier cue, but
    may change the hands of the next ones, which start later. A gesture starts where its departure first
    reaches START_FRACTION of its peak. At the entry, a gesture points along the left arm (shoulder to wrist)
    for the left hand, along the pattern's shift for the baton hand, whose pattern keeps beating."""
    lo = max(int(np.floor((entry_s - 2 * period_s) * fps)), 0)
    hi = min(int(np.ceil((entry_s + after_s) * fps)) + 1, len(cued))
    found = []
    for hand in ("left", "right"):
        wrist = JOINT[f"{hand}_wrist"]
        moved = cued[lo:hi, wrist] - without[lo:hi, wrist]
        distance = np.linalg.norm(moved, axis=1)
        if len(distance) == 0 or distance.max() < MIN_CUE_DISPLACEMENT:
            continue
        peak = int(np.argmax(distance))
        below = np.flatnonzero(distance[: peak + 1] < START_FRACTION * distance[peak])
        start = _crossing(distance, below[-1], START_FRACTION * distance[peak]) if len(below) else 0.0
        start_s = (lo + start) / fps
        at = min(int(round(entry_s * fps)), len(cued) - 1)  # the cue arrives with the entry
        arm = cued[at, wrist] - cued[at, JOINT["left_shoulder"]]
        pointing = arm if hand == "left" else moved[at - lo]
        cue = MeasuredCue(
            float(entry_s),
            hand,
            start_s,
            (entry_s - start_s) / period_s,
            float(np.degrees(np.arctan2(pointing[0], pointing[2]))),
            head_yaw_deg(cued[at]),
        )
        found.append((distance[peak], cue))
    if not found:
        return [MeasuredCue(float(entry_s), "none", np.nan, np.nan, np.nan, np.nan)]
    return [cue for _, cue in sorted(found, key=lambda item: item[1].start_s)]


def head_yaw_deg(joints: np.ndarray) -> float:
    """The head's turn about the vertical in one frame (13, 3): the nose against the ears' midpoint."""
    ears = 0.5 * (joints[JOINT["left_ear"]] + joints[JOINT["right_ear"]])
    nose = joints[JOINT["nose"]]
    return float(np.degrees(np.arctan2(nose[0] - ears[0], nose[2] - ears[2])))


def points_to(azimuth_deg: float, seat_azimuth_deg: float, centre_deg: float = 15.0) -> bool:
    """Whether a direction is on the seat's side: the same side of straight ahead, or (a seat within
    `centre_deg` of it) within twice that of straight ahead."""
    if not np.isfinite(azimuth_deg):
        return False
    if abs(seat_azimuth_deg) < centre_deg:
        return bool(abs(azimuth_deg) < 2 * centre_deg)
    return bool(np.sign(azimuth_deg) == np.sign(seat_azimuth_deg))


def _crossing(distance: np.ndarray, below: int, level: float) -> float:
    """The fractional frame after `below` where `distance` rises through `level`."""
    if below + 1 >= len(distance):
        return float(below)
    a, b = distance[below], distance[below + 1]
    return below + float(np.clip((level - a) / max(b - a, 1e-12), 0, 1))
