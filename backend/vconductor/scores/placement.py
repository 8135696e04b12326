"""A performance's beats placed jointly on the audio (docs/scores.md): the DTW gives each score beat an
approximate time; a second-order Viterbi then chooses, for every beat together, one frame within WINDOW_S of
that estimate, scoring
- the beat tracker's beat activation at the frame (the network hears beats where the onsets are unclear),
- the audio's onset strength there, weighted by how many of the score's notes start on the beat (none: 0),
- the distance from the DTW's estimate (a Gaussian of PRIOR_S),
- the change of tempo between consecutive beats: the log ratio of two inter-beat intervals against the
  score's written ratio (rubato bends the tempo smoothly; a figure's notes do not make it jump).
Snapping each beat alone to its nearest onset fails in dense textures (an eighth note is as loud as the beat)
and with slow attacks (the onset is soft); the joint path keeps the beats evenly spaced where the evidence is
weak. Both activations are taken against their running median (sustained strings keep the flux high
everywhere). A beat on which no note starts takes its estimate from its score position between the nearest
beats with notes (the chroma path drifts across a held chord); beats inside a fermata are placed by their
score position between the placed beats around it (no evidence of their own, and a hold of any length).
"""

import numpy as np

from .features import MEL_RATE, unit_scaled

# Tuned on 56 development renders (non-held-out corpus works, TimGM6mb and MuseScore General, drawn rubato,
# 16 of them on strings patches): mean beat F 0.963 (0.896 with per-beat snapping); docs/scores.md
WINDOW_S = 0.3  # candidates each side of the DTW's estimate (0.2: about the same) ...
REACH_SHARE = 0.35  # ... and within this share of the DTW's interval to the nearer neighbouring beat
PRIOR_S = 0.05  # the DTW estimate's weight (0.1 before onset chroma made the map closer; dev renders 0.944 -> 0.949)
ACTIVATION_WEIGHT = 2.0  # (1.0: -0.007, 3.0: +0.002)
ONSET_WEIGHT = 1.0
TEMPO_WEIGHT = 30.0  # per squared log ratio of consecutive intervals (a 10 % step costs 0.27)
MIN_INTERVAL_S = 0.1
RELEASE_REACH_S = 0.5  # a fermata's release sought this far each side of the DTW's estimate ...
RELEASE_PRIOR_S = 0.3  # ... with this weak a preference for it
CONTRAST_S = 0.5  # peaks against the running median this long (strings renders: 0.863 without, 0.921 with)


def placed_beats(
    times: np.ndarray,
    beats_q: np.ndarray,
    onsets_q: np.ndarray,
    strength: np.ndarray,
    activation: np.ndarray | None,
    fermatas: list[tuple[float, float]] = (),
) -> np.ndarray:
    """Beat times (increasing) placed on the audio near the DTW's `times` (one per beat of `beats_q`);
    the tempo may change freely into and out of a fermata (held as long as the performer likes)."""
    beats_q = np.asarray(beats_q, float)
    unique_q, index = np.unique(beats_q, return_inverse=True)
    if len(unique_q) < len(beats_q):  # a beat listed twice (overlapping bars): placed once
        first = np.unique(index, return_index=True)[1]
        placed = placed_beats(np.asarray(times)[first], unique_q, onsets_q, strength, activation, fermatas)
        return placed[index]
    times = _between_onsets(np.asarray(times, float), beats_q, onsets_q)
    times = _released(times, beats_q, fermatas, strength, activation)
    inner = _inside_fermatas(beats_q, fermatas)  # no evidence of their own: placed by score position
    kept = np.flatnonzero(~inner)
    if len(kept) < 3 or len(strength) < 4:
        return times
    reach = int(round(WINDOW_S * MEL_RATE))
    centre = np.round(np.asarray(times)[kept] * MEL_RATE).astype(int)
    frames = centre[:, None] + np.arange(-reach, reach + 1)[None, :]  # (beats, candidates)
    emission = _emission(frames, times[kept], beats_q[kept], onsets_q, strength, activation)
    cand_s = frames / MEL_RATE
    written = np.log(np.maximum(np.diff(beats_q[kept]), 1e-6))
    held = _held(beats_q[kept], fermatas)
    chosen = _viterbi(emission, cand_s, written, TEMPO_WEIGHT * (held[1:] == held[:-1]))
    chosen_s = cand_s[np.arange(len(kept)), chosen]
    placed = np.interp(beats_q, beats_q[kept], chosen_s)
    # beats under a fermata at either end (a final one) have no placed beat beyond: the map's, moved as
    # the nearest placed beat was (interpolation would stack them on it, a held chord's beats all at once)
    ends = (beats_q < beats_q[kept[0]]) | (beats_q > beats_q[kept[-1]])
    placed[ends] = times[ends] + np.interp(beats_q[ends], beats_q[kept], chosen_s - times[kept])
    return np.maximum.accumulate(placed + np.arange(len(placed)) * 1e-9)


def _between_onsets(times: np.ndarray, beats_q: np.ndarray, onsets_q: np.ndarray) -> np.ndarray:
    """The DTW's estimate of a beat on which no note starts, replaced by its score position between the
    nearest beats with notes (the chroma path drifts across a held chord; the onsets hold it)."""
    sounded = _notes_on(beats_q, onsets_q) > 0
    if sounded.sum() < 2:
        return times
    between = ~sounded & (beats_q > beats_q[sounded][0]) & (beats_q < beats_q[sounded][-1])
    out = times.copy()
    out[between] = np.interp(beats_q[between], beats_q[sounded], times[sounded])
    return out


def _released(times, beats_q, fermatas, strength, activation) -> np.ndarray:
    """Each fermata's release beat moved to the clearest onset within RELEASE_REACH_S of its estimate: the
    DTW expects a hold of FERMATA_HOLD times the written length, performers hold 1.5-4 times, and the
    release's estimate lands off by more than the placement's reach (0.2-0.3 s)."""
    from scipy.ndimage import gaussian_filter1d

    if len(strength) < 4 or not len(fermatas):
        return times
    evidence = _contrast(gaussian_filter1d(strength, 1.0))
    if activation is not None and len(activation) == len(strength):
        evidence = evidence + ACTIVATION_WEIGHT * _contrast(
            gaussian_filter1d(np.asarray(activation, float), 1.0)
        )
    out = times.copy()
    reach = int(round(RELEASE_REACH_S * MEL_RATE))
    for _, end in fermatas:
        at = np.flatnonzero(np.abs(beats_q - end) < 1e-6)
        if len(at) == 0 or at[0] == 0:
            continue
        i = int(at[0])
        frames = int(round(times[i] * MEL_RATE)) + np.arange(-reach, reach + 1)
        after = np.maximum(out[i - 1], times[i - 1]) + MIN_INTERVAL_S
        frames = frames[(frames >= 0) & (frames < len(strength)) & (frames / MEL_RATE >= after)]
        if len(frames):
            score = evidence[frames] - 0.5 * ((frames / MEL_RATE - times[i]) / RELEASE_PRIOR_S) ** 2
            out[i] = frames[int(np.argmax(score))] / MEL_RATE
    return out


def _emission(frames, times, beats_q, onsets_q, strength, activation) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    inside = np.clip(frames, 0, len(strength) - 1)
    onset = _contrast(gaussian_filter1d(strength, 1.0))[inside]
    starting = _notes_on(beats_q, onsets_q)
    weight = np.minimum(1.0, np.sqrt(starting / max(np.percentile(starting, 90), 1.0)))
    score = ONSET_WEIGHT * weight[:, None] * onset
    if activation is not None and len(activation):
        beat = gaussian_filter1d(np.asarray(activation, float), 1.0)
        beat = _contrast(beat)
        score += ACTIVATION_WEIGHT * beat[np.clip(frames, 0, len(beat) - 1)]
    distance = frames / MEL_RATE - np.asarray(times)[:, None]
    # within a third of the beat's interval: the next off-beat is often as strong as the beat
    spacing = np.diff(np.asarray(times, float))
    reach = REACH_SHARE * np.minimum(np.r_[spacing[:1], spacing], np.r_[spacing, spacing[-1:]])
    score = np.where(np.abs(distance) <= reach[:, None] + 0.5 / MEL_RATE, score, -1e9)
    return score - 0.5 * (distance / PRIOR_S) ** 2


def _contrast(x: np.ndarray) -> np.ndarray:
    """`x` above its running median (CONTRAST_S), scaled to its 99th percentile: a peak against its
    surroundings, whatever the piece's level (sustained strings keep the flux high everywhere)."""
    from scipy.ndimage import median_filter

    return unit_scaled(np.maximum(x - median_filter(x, int(CONTRAST_S * MEL_RATE) | 1, mode="nearest"), 0.0))


def _notes_on(beats_q: np.ndarray, onsets_q: np.ndarray) -> np.ndarray:
    """How many of the score's notes start on each beat."""
    onsets_q = np.sort(np.asarray(onsets_q, float))
    lo = np.searchsorted(onsets_q, beats_q - 1e-3)
    hi = np.searchsorted(onsets_q, beats_q + 1e-3)
    return (hi - lo).astype(float)


def _inside_fermatas(beats_q: np.ndarray, fermatas) -> np.ndarray:
    inside = np.zeros(len(beats_q), bool)
    for start, end in fermatas:
        inside |= (beats_q > start + 1e-6) & (beats_q < end - 1e-6)
    return inside


def _held(beats_q: np.ndarray, fermatas) -> np.ndarray:
    """Per interval between consecutive beats: whether it lies under a fermata."""
    held = np.zeros(max(len(beats_q) - 1, 0), bool)
    for start, end in fermatas:
        held |= (beats_q[1:] > start + 1e-6) & (beats_q[:-1] < end - 1e-6)
    return held


def _viterbi(
    emission: np.ndarray, cand_s: np.ndarray, written: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """The best candidate per beat; states are (previous, current) candidate pairs, the transition scores
    the change of log interval against the written one."""
    n, k = emission.shape
    interval = cand_s[1][None, :] - cand_s[0][:, None]  # (prev, cur)
    score = np.where(interval >= MIN_INTERVAL_S, emission[0][:, None] + emission[1][None, :], -np.inf)
    back = np.zeros((n, k, k), np.int16)
    for i in range(2, n):
        new_interval = cand_s[i][None, :] - cand_s[i - 1][:, None]  # (mid, cur)
        log_new = np.log(np.maximum(new_interval, 1e-6))
        log_old = np.log(np.maximum(interval, 1e-6))  # (prev, mid)
        change = (log_new[None, :, :] - log_old[:, :, None]) - (written[i - 1] - written[i - 2])
        total = score[:, :, None] - weights[i - 2] * change**2  # (prev, mid, cur)
        total = np.where(new_interval[None] >= MIN_INTERVAL_S, total, -np.inf)
        back[i] = np.argmax(total, axis=0).astype(np.int16)  # best prev per (mid, cur)
        score = np.take_along_axis(total, back[i][None].astype(np.intp), axis=0)[0] + emission[i][None, :]
        interval = new_interval
    if not np.isfinite(score).any():
        return np.full(n, k // 2)
    mid, cur = np.unravel_index(int(np.argmax(score)), score.shape)
    chosen = np.zeros(n, int)
    chosen[-1], chosen[-2] = cur, mid
    for i in range(n - 1, 1, -1):
        chosen[i - 2] = back[i][chosen[i - 1], chosen[i]]
    return chosen
