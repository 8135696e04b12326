"""Score time -> audio time, in one of two cases (docs/scores.md):

- **rendered**: the audio was rendered from the score, so its timing is the score's nominal time (tempo marks,
  MIDI tempo events) plus a leading offset. The offset is the peak of the cross-correlation of the score's onsets
  with the audio's onset strength; the case holds when the DTW alignment agrees with that straight line and most
  score onsets meet an audio onset there. Beats are then exact: nominal + offset.
- **performance**: another tempo, rubato, fermatas held. DTW (librosa.sequence.dtw) on chroma and onset
  features gives each score instant its audio time; the beats are then placed jointly on the audio's onsets
  and the beat tracker's activation (placement.py).

The fit: the chroma similarity along the DTW path against the similarity of unrelated frames (0: no better than
chance, 1: identical). A score of another piece scores low (measured in docs/scores.md).
"""

from dataclasses import dataclass

import numpy as np

from .departures import departures, fitted_line, slope_candidates
from .features import MEL_RATE, attack_time, audio_features, unit_scaled
from .fermata_line import HeldLine, held_line
from .onset_chroma import audio_onset_chroma
from .path_dtw import AudioSide, ScoreSide, score_to_audio
from .placement import placed_beats
from .refine import shifted_map
from .section import audio_section, section_notes
from .timeline import ScoreTimeline

REFINE = True

RENDERED_TOLERANCE_S = 0.05  # a rendered score's onsets meet the audio's this closely
RENDERED_HITS = (
    0.73  # ... at least this share of them (renders 0.77-0.98, a slow aria 0.49: see TIGHT; a mild
)
# rubato take of op. 133 met 0.69 and was taken for a render, F 0.65; the performance case on renders: F 0.85-1.0)
RENDERED_SPREAD_S = 0.015  # ... this closely around their median (renders 0.004-0.014, performances 0.016+)
OFFSET_REACH_S = 0.5  # the line's offset is sought this close to the DTW path's (rendered K. 80/3 with a
# final ritardando: the correlation's peak lay a bar away)
RENDERED_DTW_S = 0.15  # and the DTW path stays this close to the straight line (median; renders <= 0.093)
HELD_SPREAD_S = (
    0.010  # with held fermatas (an offset per stretch, a rubato chorale's phrases fit too): renders
)
# with holds 0.0055-0.0081, a rubato chorale taken for one 0.0143
RATIO_SPREAD_S = 0.010  # at another constant tempo (fitted slope): renders 0.004-0.008, a rubato trio 0.015
RATIO_DTW_S = 0.06  # ... renders 0.015-0.027, the rubato trio 0.116
RATIO_HITS = 0.66  # ... renders 0.68-0.99 (chorale BWV 1.6: 0.68-0.70); two mild rubato takes 0.63-0.64 (a thin margin)
RENDERED_TIGHT_HITS = 0.4  # ... or this share when spread and drift are both within RENDERED_TIGHT_S (a slow
RENDERED_TIGHT_S = 0.008  # aria's render on strings: 0.49, 5 ms, 6 ms; rubato takes at most 0.22 at <= 8 ms)
DRIFT_ONSETS = 9  # the drift's running median (a gate on drift alone was measured: renders 5-19 ms, a mild
# rubato take of op. 133 taken for a render 20-25 ms: too thin a margin, left out)
MIN_FIT = 0.3  # below: the score does not fit the audio (measured: other pieces 0.05-0.2; see docs)
DURATION_RATIO = 3.0  # the score's nominal length and the audio's sounding length differ at most this much
PARTIAL_RATIO = 2.0  # a score this much longer than the audio: find the section the audio plays first
FERMATA_HOLD = 2.0
ATTACK_SCALE = 1.0  # 2.0 measured: BWV 66.6 (slow strings) F 0.38 -> 0.55, 32 rubato renders 0.954 -> 0.961, but the test chorale's motion BAS 0.87 -> 0.82


@dataclass
class Alignment:
    """How score quarters map to audio seconds (`seconds(q)`), the case and how well it fits."""

    case: str  # "rendered" or "performance"
    fit: float  # 0..1 (see the module docstring)
    confidence: float  # 0..1: the rendered case's share of onsets met; a performance's fit
    anchors_q: np.ndarray  # increasing score positions (quarters) ...
    anchors_s: np.ndarray  # ... and their audio times
    offset_s: float = 0.0  # the rendered case's leading offset
    # anchors_q's range is the part of the score the audio plays: beats outside it are not the audio's
    strength: np.ndarray | None = None  # the audio's onset strength at MEL_RATE (0..1), for placing beats
    activation: np.ndarray | None = None  # the beat tracker's beat activation at MEL_RATE, for placing beats
    slope: float = 1.0  # the rendered case's audio seconds per nominal second (another constant tempo)
    departures: tuple = ()  # the rendered case's (start_q, end_q) where the audio leaves the line
    holds: tuple = ()  # the rendered case's (start_q, end_q, extra s) per fermata held longer (fermata_line.py)

    def seconds(self, quarters) -> np.ndarray:
        return np.interp(np.asarray(quarters, float), self.anchors_q, self.anchors_s)


class ScoreMismatch(ValueError):
    """The score does not fit the audio (another piece): one line with the measure."""


def align(timeline: ScoreTimeline, spectrogram, activation: np.ndarray | None = None) -> Alignment:
    """The alignment of `timeline` with the audio of `spectrogram`; ScoreMismatch when it does not fit.
    `activation`: the tracker network's beat activation of this audio when the caller has it (else computed)."""
    chroma_a, flux_a, level_a = audio_features(spectrogram)
    sounding = np.flatnonzero(level_a > level_a.max() - 50.0)
    first, last = int(sounding[0]), int(sounding[-1]) + 1
    audio_span = (last - first) / MEL_RATE
    section = None
    if _span(timeline) > PARTIAL_RATIO * audio_span:  # the audio plays a part of the score
        section = audio_section(timeline, chroma_a, first, last)
        timeline = section_notes(timeline, *section)
        if len(timeline.notes) < 4:
            raise ScoreMismatch("no part of the score fits the audio")
    notes = timeline.notes
    onsets_s = timeline.nominal_seconds(notes["onset_q"])
    score_span = _span(timeline)
    ratio = audio_span / max(score_span, 1e-3)
    if section is None and not 1 / DURATION_RATIO <= ratio <= DURATION_RATIO:
        raise ScoreMismatch(
            f"the score lasts {score_span:.1f} s at its tempo and the music {audio_span:.1f} s: "
            "not the same piece"
        )
    grid_q, expected = _expected_seconds(timeline)
    expected_on, expected_end = (
        np.interp(q, grid_q, expected) for q in (notes["onset_q"], notes["onset_q"] + notes["duration_q"])
    )
    audio = AudioSide(chroma_a, flux_a, audio_onset_chroma(spectrogram), first, last)
    expected_s, audio_s, fit = _dtw(timeline, expected_on, expected_end, audio, level_a)
    path_q = np.interp(expected_s, expected, grid_q)
    nominal_s = timeline.nominal_seconds(path_q)
    if fit < MIN_FIT:
        raise ScoreMismatch(f"the score does not fit the audio (fit {fit:.2f}, at least {MIN_FIT} expected)")
    fermatas_s = [tuple(timeline.nominal_seconds(np.asarray(span, float))) for span in timeline.fermatas]
    strength = unit_scaled(flux_a)  # the onset strength every step below reads
    rendered = _rendered(onsets_s, strength, (nominal_s, audio_s), fermatas_s)
    if REFINE:
        onsets_at = np.interp(np.unique(np.round(onsets_s, 3)), nominal_s, audio_s)
        audio_s = shifted_map(audio_s, onsets_at, strength)
    if rendered is not None:
        path = (path_q, audio_s)
        return _rendered_alignment(timeline, spectrogram, strength, rendered, fit, path, section, activation)
    if section is not None:
        keep = _heard(timeline, path_q, audio_s, strength)
        path_q, audio_s = path_q[keep], audio_s[keep]
    activation = _beat_activation(spectrogram) if activation is None else activation
    return Alignment("performance", fit, fit, path_q, audio_s, 0.0, strength, activation)


def _rendered_alignment(
    timeline, spectrogram, strength, rendered, fit, path, section, activation
) -> Alignment:
    """The rendered case: the line (slope, offset, held fermatas), and the performance map (`path`: score
    quarters, audio seconds) where the audio leaves it (departures.py)."""
    line, hits = rendered
    grid_q = _grid_q(timeline)
    grid_s = timeline.nominal_seconds(grid_q)
    times = line.seconds(grid_s)
    holds = tuple((*np.interp([start, end], grid_s, grid_q), extra) for start, end, extra in line.holds)
    path_q, map_s = path
    mapped = (grid_q >= path_q[0]) & (grid_q <= path_q[-1])
    away = departures(
        grid_q[mapped],
        times[mapped],
        np.interp(grid_q[mapped], path_q, map_s),
        timeline.notes["onset_q"],
        strength,
    )
    for start, end in away:
        inside = (grid_q >= start) & (grid_q <= end)
        times[inside] = np.interp(grid_q[inside], path_q, map_s)
    times = np.maximum.accumulate(times) + np.arange(len(times)) * 1e-9
    if section is not None:
        keep = _heard(timeline, grid_q, times, strength)
        grid_q, times = grid_q[keep], times[keep]
    if not away:
        activation = None
    elif activation is None:
        activation = _beat_activation(spectrogram)
    return Alignment(
        "rendered",
        fit,
        hits,
        grid_q,
        times,
        line.offset,
        strength if away else None,
        activation,
        line.slope,
        tuple(away),
        tuple((float(a), float(b), float(extra)) for a, b, extra in holds),
    )


def _beat_activation(spectrogram) -> np.ndarray:
    """The tracker network's beat activation (its first output) at the spectrogram's frame rate."""
    from ..beat_tracking.inference import spectrogram_activations
    from ..beat_tracking.tracker import tracker_network

    return spectrogram_activations(tracker_network(), spectrogram)[:, 0]


def _heard(
    timeline: ScoreTimeline, quarters: np.ndarray, seconds: np.ndarray, strength: np.ndarray
) -> np.ndarray:
    """Which of an excerpt's mapped positions the audio plays: from its first audible note to the end of the
    notes that start by its last audible onset (its release and the margin around the section left out)."""
    onsets = np.flatnonzero(strength > 0.2) / MEL_RATE
    if len(onsets) < 2:
        return np.ones(len(quarters), bool)
    first_q, last_q = np.interp([onsets[0], onsets[-1]], seconds, quarters)
    notes = timeline.notes
    started = notes["onset_q"] <= last_q + 1e-3
    end_q = float((notes["onset_q"] + notes["duration_q"])[started].max()) if started.any() else last_q
    start_q = float(notes["onset_q"][notes["onset_q"] >= first_q - 0.25].min(initial=first_q))
    return (quarters >= start_q - 1e-6) & (quarters <= end_q - 1e-6)


def beat_times(
    alignment: Alignment, timeline: ScoreTimeline, beats_q: np.ndarray, margin_q: float = 0.25
) -> np.ndarray:
    """The audio time of each beat: exact in the rendered case; in a performance, the beats the audio plays
    (the alignment's range, `margin_q` wider) placed on the audio (placement.py), the others as mapped."""
    times = alignment.seconds(beats_q)
    if alignment.case == "rendered" and not alignment.departures:
        return times
    played = (beats_q >= alignment.anchors_q[0] - margin_q) & (beats_q <= alignment.anchors_q[-1] + margin_q)
    placed = times.copy()
    placed[played] = placed_beats(
        times[played],
        beats_q[played],
        timeline.notes["onset_q"],
        alignment.strength,
        alignment.activation,
        timeline.fermatas,
    )
    if alignment.case == "rendered":  # the line's exact beats, placed ones where the audio leaves it
        away = np.zeros(len(beats_q), bool)
        for start, end in alignment.departures:
            away |= (beats_q >= start) & (beats_q <= end)
        placed = np.where(away, placed, times)
    return placed


def _grid_q(timeline: ScoreTimeline) -> np.ndarray:
    step = 1 / 24
    return np.arange(-16.0, timeline.end_q + 16.0 + step, step)


def _dtw(timeline, onsets_s, ends_s, audio: AudioSide, level_a):
    """DTW of the score (expected time) against the sounding audio: (nominal s, audio s, fit) per score frame."""
    start_s = float(onsets_s.min())
    notes = timeline.notes
    score = ScoreSide(
        notes["pitch"],
        onsets_s - start_s,
        ends_s - start_s,
        notes["velocity"],
        attack_time(level_a[audio.first : audio.last]) * ATTACK_SCALE,
    )
    score_s, audio_s, fit = score_to_audio(score, audio, float(ends_s.max()) - start_s)
    audio_s = audio.first / MEL_RATE + audio_s + np.arange(len(audio_s)) * 1e-6  # strictly increasing
    return start_s + score_s, audio_s, fit


def _span(timeline: ScoreTimeline) -> float:
    """Seconds from the first note to the end of the last at the written tempo."""
    notes = timeline.notes
    ends = timeline.nominal_seconds(notes["onset_q"] + notes["duration_q"])
    return float(ends.max() - timeline.nominal_seconds(notes["onset_q"].min()))


def _expected_seconds(timeline: ScoreTimeline) -> tuple[np.ndarray, np.ndarray]:
    """(quarters, seconds) of the score as a performance is expected to go: its nominal time with every
    fermata held FERMATA_HOLD times as long (performers hold them; a render from the score does not, which
    the DTW's path absorbs)."""
    grid = _grid_q(timeline)
    steps = np.diff(timeline.nominal_seconds(grid))
    middle = (grid[1:] + grid[:-1]) / 2
    for start, end in timeline.fermatas:
        steps[(middle >= start) & (middle < end)] *= FERMATA_HOLD
    return grid, timeline.nominal_seconds(grid[0]) + np.r_[0.0, np.cumsum(steps)]


def _rendered(
    onsets_s: np.ndarray, strength: np.ndarray, path, fermatas_s=()
) -> tuple[HeldLine, float] | None:
    """(line, share of onsets met) when the audio plays the score on a straight line of its nominal time
    (its fermatas may be held longer: fermata_line.py): at the written tempo (slope 1) or, failing that, at
    another constant tempo; else None."""
    times = np.unique(np.round(onsets_s, 3))
    offset = _offset(times, strength, 1.0, path)[0]
    found = _line_holds(times, strength, path, held_line(times, fermatas_s, strength, path, 1.0, offset))
    if found is not None:
        return found
    slopes = slope_candidates(*path, fermatas_s)
    if len(slopes) == 0:
        return None
    peaks = [_offset(times, strength, slope, path) for slope in slopes]
    best = int(np.argmax([peak for _, peak in peaks]))
    slope, offset = fitted_line(times, slopes[best], peaks[best][0], strength)
    return _line_holds(times, strength, path, held_line(times, fermatas_s, strength, path, slope, offset))


def _offset(times: np.ndarray, strength: np.ndarray, slope: float, path) -> tuple[float, float]:
    """(offset, peak): the lag of the best cross-correlation of the score's onsets, at `slope` seconds per
    nominal second, with the audio's onset strength, within OFFSET_REACH_S of the DTW path's own offset (a
    repetitive piece correlates as well a bar away), and its height."""
    from scipy.signal import correlate

    train = np.zeros(int(times.max() * slope * MEL_RATE) + 2)
    train[np.round(times * slope * MEL_RATE).astype(int)] = 1.0
    lags = correlate(strength, train, mode="full", method="fft")  # index k: offset k - (len(train) - 1)
    nominal_s, audio_s = path
    around = float(np.median(audio_s - slope * nominal_s)) * MEL_RATE + len(train) - 1
    reach = OFFSET_REACH_S * MEL_RATE
    lo, hi = int(np.clip(around - reach, 0, len(lags) - 1)), int(np.clip(around + reach, 0, len(lags) - 1))
    best = lo + int(np.argmax(lags[lo : hi + 1]))
    return (best - (len(train) - 1)) / MEL_RATE, float(lags[best])


def _line_holds(times, strength, path, line: HeldLine) -> tuple[HeldLine, float] | None:
    expected = line.seconds(times)
    inside = (expected >= 0) & (expected < len(strength) / MEL_RATE)
    if inside.sum() < 4:
        return None
    hits, spread, drift = _onsets_met(expected[inside], strength)
    nominal_s, audio_s = path
    deviation = float(np.median(np.abs(np.interp(times, nominal_s, audio_s) - expected)))
    if (
        line.slope != 1.0
    ):  # a fitted slope follows a performance's overall tempo too: a straighter, fuller line
        ok = hits >= RATIO_HITS and deviation <= RATIO_DTW_S and spread <= RATIO_SPREAD_S
    else:
        tight = spread <= RENDERED_TIGHT_S and drift <= RENDERED_TIGHT_S  # fewer hits, on the line exactly
        enough = hits >= RENDERED_HITS or (tight and hits >= RENDERED_TIGHT_HITS)
        spread_limit = HELD_SPREAD_S if line.holds else RENDERED_SPREAD_S
        ok = enough and deviation <= RENDERED_DTW_S and spread <= spread_limit
    return (line, hits) if ok else None


def _onsets_met(times_s: np.ndarray, strength: np.ndarray) -> tuple[float, float, float]:
    """(the share of `times_s` with an onset-strength peak within RENDERED_TOLERANCE_S, the median distance of
    those peaks from their times once their median is taken off, the drift: the 90th percentile of that
    distance's running median over DRIFT_ONSETS onsets): a render's onsets sit on a straight line (measured
    spread 4-14 ms with the renders' 0-10 ms note jitter), a near-nominal performance's wander, and slowly."""
    from scipy.ndimage import maximum_filter1d, median_filter

    peaks = (strength == maximum_filter1d(strength, 5)) & (strength > 0.2)
    peak_times = np.flatnonzero(peaks) / MEL_RATE
    if len(peak_times) < 2:
        return 0.0, 1.0, 1.0
    at = np.clip(np.searchsorted(peak_times, times_s), 1, len(peak_times) - 1)
    after, before = peak_times[at] - times_s, peak_times[at - 1] - times_s
    nearest = np.where(np.abs(after) < np.abs(before), after, before)
    met = nearest[np.abs(nearest) <= RENDERED_TOLERANCE_S]
    if len(met) == 0:
        return 0.0, 1.0, 1.0
    residual = met - np.median(met)
    drift = np.abs(median_filter(residual, min(int(DRIFT_ONSETS), len(residual)), mode="nearest"))
    return len(met) / len(times_s), float(np.median(np.abs(residual))), float(np.percentile(drift, 90))
