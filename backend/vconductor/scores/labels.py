"""Beat, downbeat and metre labels from a score's own bars, in quarter lengths (no music21 here: plain numbers).

Definitions (docs/beat-data.md):
- a *count* is one unit of the time signature's denominator (an eighth in 6/8, a half note in 2/2);
- a *beat* is a count in simple metres (2/4, 3/4, 4/4, 2/2, 3/8, 5/8, ...) and a group of three counts in
  compound metres (numerator 6, 9, 12, ... : 6/8 has two dotted-quarter beats, 12/8 four);
- the *downbeat* is the first beat of a bar.
A bar longer than its time signature (overfull) has more beats: a 4/4 bar of five quarters has five (of
4.5 quarters also five, the last a half; of 4.25 four, the last longer).
An incomplete first bar is a pickup (anacrusis): its beats are the LAST beats of a full bar, so a one-quarter
pickup in 4/4 is beat 4. An incomplete bar that completes the previous incomplete one (the two halves of a bar
split around a repeat sign, or the last bar of a repeat going back to the pickup) continues that bar instead
of starting a new one.
"""

from dataclasses import dataclass

import numpy as np

EPS = 1e-6  # quarter lengths are fractions (triplets): compare with a tolerance


@dataclass(frozen=True)
class Bar:
    """One bar as played: where it starts, how long it is, and its written time signature."""

    start_q: float
    length_q: float
    numerator: int
    denominator: int


@dataclass
class Labels:
    """Every beat, downbeat and count of a score (quarter lengths from the start), and the metre per bar."""

    beats_q: np.ndarray
    beat_in_bar: np.ndarray  # 1-based
    downbeats_q: np.ndarray
    counts_q: np.ndarray  # the denominator level: eighths in 6/8, quarters in 3/4
    count_in_bar: np.ndarray  # 1-based
    bars: list[Bar]
    bar_phase_q: np.ndarray  # where in a full bar each played bar starts (a pickup's is > 0)
    end_q: float


def is_compound(numerator: int) -> bool:
    """6/8, 9/8, 12/8, 6/4, 6/16 ...: beats are dotted (three counts). 3/x is simple triple."""
    return numerator > 3 and numerator % 3 == 0


def count_length_q(denominator: int) -> float:
    return 4.0 / denominator


def beat_length_q(numerator: int, denominator: int) -> float:
    return count_length_q(denominator) * (3 if is_compound(numerator) else 1)


def full_bar_q(numerator: int, denominator: int) -> float:
    return numerator * count_length_q(denominator)


def bar_phases(bars: list[Bar]) -> np.ndarray:
    """Where each played bar starts inside a full bar of its metre: pickups and split bars start late."""
    phases = np.zeros(len(bars))
    carry = 0.0  # how much of a bar the previous incomplete bar(s) already filled
    for i, bar in enumerate(bars):
        full = full_bar_q(bar.numerator, bar.denominator)
        short = bar.length_q < full - EPS
        if i == 0 and short:
            phases[i] = full - bar.length_q  # anacrusis: the bar's last beats
            carry = 0.0
        elif carry > EPS and carry + bar.length_q <= full + EPS:
            phases[i] = carry  # the rest of a bar split in two
            carry = 0.0 if carry + bar.length_q >= full - EPS else carry + bar.length_q
        else:
            phases[i] = 0.0
            carry = bar.length_q if short else 0.0
    return phases


def _positions_in_bar(bar: Bar, phase: float, step: float) -> tuple[list[float], list[int]]:
    """The grid points (every `step`) of a full bar that fall inside the played part [phase, phase+length);
    a bar longer than its time signature (an overfull bar, as a hand-edited file has) goes on counting, a
    step for each whole step more and for a last part of at least half a step (less lengthens the last:
    a stray 32nd note is no beat 60 ms before the next bar's)."""
    positions, numbers = [], []
    full = full_bar_q(bar.numerator, bar.denominator)
    steps = max(int(round(full / step)), int(np.floor((phase + bar.length_q) / step + 0.5 + EPS)))
    for k in range(steps):
        position = k * step
        if phase - EPS <= position < phase + bar.length_q - EPS:
            positions.append(bar.start_q + position - phase)
            numbers.append(k + 1)
    return positions, numbers


def bar_labels(bars: list[Bar]) -> Labels:
    """Beats, downbeats and counts of the played bars (see the module docstring for the definitions)."""
    phases = bar_phases(bars)
    beats, beat_numbers, downbeats, counts, count_numbers = [], [], [], [], []
    for bar, phase in zip(bars, phases, strict=True):
        beat = beat_length_q(bar.numerator, bar.denominator)
        positions, numbers = _positions_in_bar(bar, phase, beat)
        beats += positions
        beat_numbers += numbers
        downbeats += [p for p, n in zip(positions, numbers, strict=True) if n == 1]
        positions, numbers = _positions_in_bar(bar, phase, count_length_q(bar.denominator))
        counts += positions
        count_numbers += numbers
    end = max((b.start_q + b.length_q for b in bars), default=0.0)
    return Labels(
        beats_q=np.asarray(beats, float),
        beat_in_bar=np.asarray(beat_numbers, int),
        downbeats_q=np.asarray(downbeats, float),
        counts_q=np.asarray(counts, float),
        count_in_bar=np.asarray(count_numbers, int),
        bars=list(bars),
        bar_phase_q=phases,
        end_q=float(end),
    )


def window_bars(labels: Labels, first: int, last: int) -> Labels:
    """The labels of bars first..last (inclusive), still in the score's quarter lengths."""
    start = labels.bars[first].start_q
    stop = labels.bars[last].start_q + labels.bars[last].length_q

    def inside(q: np.ndarray) -> np.ndarray:
        return (q >= start - EPS) & (q < stop - EPS)

    beats, counts = inside(labels.beats_q), inside(labels.counts_q)
    return Labels(
        beats_q=labels.beats_q[beats],
        beat_in_bar=labels.beat_in_bar[beats],
        downbeats_q=labels.downbeats_q[inside(labels.downbeats_q)],
        counts_q=labels.counts_q[counts],
        count_in_bar=labels.count_in_bar[counts],
        bars=labels.bars[first : last + 1],
        bar_phase_q=labels.bar_phase_q[first : last + 1],
        end_q=float(stop),
    )
