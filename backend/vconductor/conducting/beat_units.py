"""Which beats the hand marks: fast music is conducted in fewer beats per bar, as conductors do (a fast 4/4 in
two, a fast 3/4 or 2/4 in one, a fast 6/8 in two), so the baton never flickers at the speed of eighths."""

import numpy as np

from .tuning import FAST_BEAT_S, IN_FEWER


def median_interval(times: np.ndarray) -> float:
    """The median time between beats (s); infinite when there are too few beats to say (under 4)."""
    return float(np.median(np.diff(times))) if len(times) >= 4 else float("inf")


def grouping(interval_s: float, per_bar: int) -> tuple[int, int]:
    """(beats conducted per bar, written beats in each conducted one) for beats `interval_s` apart in bars of
    `per_bar`: (per_bar, 1) unless they are faster than FAST_BEAT_S."""
    if per_bar not in IN_FEWER or interval_s >= FAST_BEAT_S:
        return per_bar, 1
    return IN_FEWER[per_bar]


def conducted_units(
    times: np.ndarray, in_bar: np.ndarray, tempo: np.ndarray, per_bar: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The beats (times, place in the bar, tempo) and beats per bar the hand conducts: all of them, or, when
    they are fast (`grouping`), every group of written beats as one."""
    fewer, group = grouping(median_interval(times), per_bar)
    if group == 1:
        return times, in_bar, tempo, per_bar
    keep = in_bar % group == 0
    return times[keep], in_bar[keep] // group, tempo[keep] / group, fewer
