"""The rendered case's line with its fermatas held (docs/scores.md): notation programs and players hold a
fermata longer than written, so a render from the score runs on the score's line (slope, offset) up to a
fermata and on the same line moved later after it. The line's offset may only grow, and only across a written
fermata; each stretch between two fermatas' releases has its own, sought like the line's (the correlation of
that stretch's onsets with the audio's onset strength) near the DTW path's own offset there. The beats under
the fermata run evenly from its start on the line before to its release on the line after.

A hold counts when the stretch after it moves at least HOLD_MIN_S and its onsets meet the audio's no worse
moved than not (a render without a held fermata keeps its single line exactly: its stretches' offsets lie
within a frame or two of the line's).
"""

from dataclasses import dataclass

import numpy as np

from .departures import onset_distance
from .features import MEL_RATE

HOLD_MIN_S = 0.05  # a stretch's offset grows at least this much (the beat F tolerance is 0.07)
HOLD_MAX_S = 12.0  # ... and at most this much (a fermata held 12 s longer than written)
STRETCH_REACH_S = 0.3  # each stretch's offset is sought this close to the DTW path's there ...
PATH_WEIGHT = 0.5  # ... the correlation's loss per second from it (quarter-note chorales match a beat away)
MIN_ONSETS = 1  # a stretch needs this many onsets for an offset of its own (a chorale's last chord: 1)
MEET_S = 0.05  # an onset meets the audio's this closely
MIN_SHARE = 0.5  # the stretch's share of onsets met, moved, is at least this and no less than unmoved


@dataclass(frozen=True)
class HeldLine:
    """slope * nominal + offset, plus each hold's extra seconds from its fermata's release on (spread evenly
    over the fermata's own nominal span)."""

    slope: float
    offset: float
    holds: tuple = ()  # (start nominal s, end nominal s, extra s) per held fermata, in order

    def seconds(self, nominal_s) -> np.ndarray:
        nominal_s = np.asarray(nominal_s, float)
        out = self.slope * nominal_s + self.offset
        for start, end, extra in self.holds:
            out = out + extra * np.clip((nominal_s - start) / max(end - start, 1e-6), 0.0, 1.0)
        return out


def held_line(
    times_s: np.ndarray, fermatas_s: list, strength: np.ndarray, path, slope: float, offset: float
) -> HeldLine:
    """The line (slope, offset) with the holds the audio shows at the written fermatas (`fermatas_s`:
    (start, end) in nominal seconds); `times_s`: the score's onsets (nominal seconds, increasing); `path`:
    the DTW's (nominal s, audio s)."""
    line = HeldLine(slope, offset)
    spans = _merged(fermatas_s)
    if not spans:
        return line
    stretches = _stretches(times_s, spans)
    found = [_stretch_offset(times_s[s], strength, path, slope, offset) for s in stretches]
    # the reference: the stretch whose own offset is the line's (the most onsets among equals)
    near = [round(abs(o - offset) * MEL_RATE) if o is not None else 1 << 30 for o in found]
    ref = min(range(len(found)), key=lambda k: (near[k], -stretches[k].sum()))
    mine = times_s[stretches[ref]]
    if found[ref] is not None and _share_met(slope * mine + found[ref], strength) > _share_met(
        slope * mine + offset, strength
    ):  # the line's offset a compromise between stretches (a fitted slope's)
        offset = found[ref]
    current = [offset] * len(stretches)
    for k in range(ref - 1, -1, -1):  # before the reference: the offset shrinks back at each hold
        current[k] = _moved(times_s[stretches[k]], strength, slope, current[k + 1], found[k], later=False)
    for k in range(ref + 1, len(stretches)):
        current[k] = _moved(times_s[stretches[k]], strength, slope, current[k - 1], found[k], later=True)
    holds = tuple(
        (start, end, current[k + 1] - current[k])
        for k, (start, end) in enumerate(spans)
        if current[k + 1] - current[k] > 0
    )
    held = HeldLine(slope, current[0], holds)
    return (held if slope == 1.0 else _refit(held, times_s, strength)) if holds else line


def _refit(line: HeldLine, times_s: np.ndarray, strength: np.ndarray) -> HeldLine:
    """The offset, each hold's extra time and (at another tempo than the written: the only caller) the slope,
    by least squares on the onsets the line meets: the searches step by a frame (12 ms), the slope by 0.1 %."""
    expected = line.seconds(times_s)
    distance = onset_distance(expected, strength)
    met = np.abs(distance) <= MEET_S
    columns = [np.ones(len(times_s))] + [
        np.clip((times_s - start) / max(end - start, 1e-6), 0.0, 1.0) for start, end, _ in line.holds
    ]
    if line.slope != 1.0:
        columns.append(times_s)
    if met.sum() < len(columns) + 3:
        return line
    heard = expected[met] + distance[met] - np.median(distance[met])  # the flux's own delay left in place
    fixed = times_s[met] * (line.slope if line.slope == 1.0 else 0.0)
    solution = np.linalg.lstsq(np.stack(columns, axis=1)[met], heard - fixed, rcond=None)[0]
    slope = float(solution[-1]) if line.slope != 1.0 else 1.0
    holds = tuple(
        (start, end, float(x)) for (start, end, _), x in zip(line.holds, solution[1:], strict=False)
    )
    return HeldLine(slope, float(solution[0]), holds)


def _merged(fermatas_s: list) -> list[tuple[float, float]]:
    """The fermatas' spans, overlapping ones merged (one per voice of a held chord)."""
    spans = []
    for start, end in sorted((float(a), float(b)) for a, b in fermatas_s if b > a):
        if spans and start <= spans[-1][1] + 1e-6:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _stretches(times_s: np.ndarray, spans: list) -> list[np.ndarray]:
    """Masks of the onsets in each stretch: before the first fermata's end, between consecutive ends,
    after the last (onsets under a fermata, after its start, are left out: their time is stretched)."""
    ends = [-np.inf] + [end for _, end in spans] + [np.inf]
    inside = np.zeros(len(times_s), bool)
    for start, end in spans:
        inside |= (times_s > start + 1e-6) & (times_s < end - 1e-6)
    return [
        (times_s >= lo - 1e-6) & (times_s < hi - 1e-6) & ~inside
        for lo, hi in zip(ends[:-1], ends[1:], strict=True)
    ]


def _stretch_offset(times_s, strength, path, slope: float, offset: float) -> float | None:
    """The offset of one stretch's onsets: the correlation's peak within STRETCH_REACH_S of the DTW
    path's offset there (None with too few onsets)."""
    if len(times_s) < MIN_ONSETS:
        return None
    nominal_s, audio_s = path
    around = float(np.median(np.interp(times_s, nominal_s, audio_s) - slope * times_s))
    lags = np.arange(-round(STRETCH_REACH_S * MEL_RATE), round(STRETCH_REACH_S * MEL_RATE) + 1)
    frames = np.round((slope * times_s + around) * MEL_RATE).astype(int)[:, None] + lags[None, :]
    inside = (frames >= 0) & (frames < len(strength))
    height = np.where(inside, _widened(strength)[np.clip(frames, 0, len(strength) - 1)], 0.0).sum(axis=0)
    score = height / len(times_s) - PATH_WEIGHT * np.abs(lags) / MEL_RATE
    return around + lags[int(np.argmax(score))] / MEL_RATE


def _moved(times_s, strength, slope: float, neighbour: float, found: float | None, later: bool) -> float:
    """A stretch's offset: `found` when it lies HOLD_MIN_S..HOLD_MAX_S after (`later`) or before its
    neighbour's and meets the stretch's onsets as well as the neighbour's (a chorale's quarter notes meet
    a whole beat away as well: the DTW's offset decides); else the neighbour's."""
    if found is None:
        return neighbour
    grown = found - neighbour if later else neighbour - found
    if not HOLD_MIN_S <= grown <= HOLD_MAX_S:
        return neighbour
    moved, kept = (_share_met(slope * times_s + o, strength) for o in (found, neighbour))
    return found if moved >= max(kept, MIN_SHARE) else neighbour


def _share_met(expected_s: np.ndarray, strength: np.ndarray) -> float:
    if len(expected_s) == 0:
        return 0.0
    return float(np.mean(np.abs(onset_distance(expected_s, strength)) <= MEET_S))


def _widened(strength: np.ndarray) -> np.ndarray:
    """The onset strength's maximum within a frame either side (the renders' note jitter)."""
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(strength, 3)
