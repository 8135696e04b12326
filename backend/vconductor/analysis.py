"""Music analysis for the procedural conductor: tempo, beats, downbeats and metre, loudness, articulation,
rests and phrases, all as plain numpy arrays.

``analyze`` turns decoded audio into a :class:`MusicAnalysis`; ``vconductor.procedural`` turns that into
conducting motion. Contours are sampled at the motion frame rate (30 fps) so they index motion frames directly.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .audio import HOP, SAMPLE_RATE, Audio, load_audio, mel_power

METERS = {"2/4": 2, "3/4": 3, "4/4": 4, "6/8": 6}  # metre -> beats conducted per bar


@dataclass
class MusicAnalysis:
    duration_s: float
    beats_s: np.ndarray  # (B,) float64, the conducted beats in seconds, increasing
    beat_in_bar: np.ndarray  # (B,) int, position of each beat in its bar, 0 = downbeat
    meter: str  # one of METERS
    tempo_bpm: np.ndarray  # (B,) float64, local tempo at each beat (conducted beats per minute)
    loudness: np.ndarray  # (T,) float32 in [0, 1] at `frame_rate`: smoothed loudness, 0 = silence
    onset_strength: np.ndarray  # (T,) float32 in [0, 1] at `frame_rate`: how strongly notes start
    articulation: np.ndarray  # (T,) float32 in [0, 1] at `frame_rate`: 0 legato .. 1 staccato
    silent: np.ndarray  # (T,) bool at `frame_rate`: rests, fermata releases, silence before/after
    phrase_starts_s: np.ndarray  # (P,) float64, detected phrase boundaries (may be empty)
    frame_rate: float = 30.0

    @property
    def beats_per_bar(self) -> int:
        return METERS[self.meter]

    @property
    def downbeats_s(self) -> np.ndarray:
        return self.beats_s[self.beat_in_bar == 0]

    @property
    def num_frames(self) -> int:
        return len(self.loudness)


# ---------------------------------------------------------------------------------------------------------------
# Analysis parameters
_SR = SAMPLE_RATE
_HOP = HOP  # feature hop, as the mel features: 11.6 ms
_FPS = _SR / _HOP
_SILENCE_DBFS = -60.0  # absolute floor: quieter frames are silent
_SILENCE_REL_DB = 45.0  # frames this far below the piece's loud level (95th percentile) are silent
_LOUDNESS_RANGE_DB = 50.0  # loudness 0 .. 1 spans this many dB below the loud level
_RELEASE_WINDOW_S = 1.0  # a release: the level this long ago was ...
_RELEASE_DROP_DB = 15.0  # ... this much louder, with no onset in between
_MIN_REST_S = 0.3  # shorter silences are ignored
_MIN_ONSET_FLUX = 0.25  # onset strength (mean dB rise per mel band) that clear note onsets exceed
_NOISE_FLATNESS_DB = -6.0  # mel spectra flatter than this (median over frames) are noise, not music
_LATENCY_S = 0.045  # onset detectors peak during the attack: report beats this much earlier
_TG_WIN_S = 8.0  # tempogram window
_TG_STEP = 16  # tempogram hop in feature frames (0.19 s)
_TG_NFFT = 4096
_BPM = 30.0 * 2.0 ** (np.arange(0.0, np.log2(720.0 / 30.0) + 1e-9, 1.0 / 36.0))  # log-tempo grid, 1/36 octave
_TATUM_RANGE = (40.0, 420.0)
_TIGHTNESS = 400.0  # beat tracker: how strictly beats follow the tempo curve
_COMPOUND_IN_6_BELOW = 60.0  # dotted-quarter beats slower than this are conducted in 6


def analyze(audio, meter: str | None = None, frame_rate: float = 30.0, progress=None) -> MusicAnalysis:
    """Analyse `audio` for conducting: the conducted beats, metre, tempo, and contours at `frame_rate`.

    `audio` is a :class:`vconductor.audio.Audio`, ``(samples, sample_rate)`` or a path. `meter` overrides the
    metre ("2/4", "3/4", "4/4", "6/8"): the beats per bar are then fixed and only the downbeat phase is found
    ("6/8" also fixes compound beats, conducted in six). `progress(fraction, message)`, when given, is called
    as the analysis goes. Silence, noise or a held tone give no beats and ``meter="4/4"``.

    Beats follow tempo changes. The onset strength (spectral flux of the log-mel spectrogram) gives
    autocorrelation and Fourier tempograms over 8 s windows; their product marks the metrical pulses, and the
    tatum is the fastest clear one (often the eighth or sixteenth notes). A Viterbi path through the tempogram
    tracks the tatum's tempo over time (its salience includes the slower levels it divides, so it does not
    drift to a 3:2 alias), and that curve divided by 1, 2, 3, 4, 6 or 8 gives the candidate beat levels; a
    free beat-level path (which may change level at an abrupt tempo change) and its half and double are
    candidates too. librosa's dynamic-programming beat tracker follows each time-varying tempo curve. The
    conducted beat is the candidate whose beats stand out most from what lies between them, whose
    subdivisions fit the level (halves, or thirds for compound beats), near a usual conducting tempo
    (log-normal prior at 120 BPM, 70 for dotted quarters); a compound beat also needs eighth-note accents
    that fit 6/8 better than 3/4 (runs of eighths alone cannot tell them apart).

    The metre comes from accent templates over the beats (onsets, bass onsets, changes of the spectrum and
    of the bass from one beat to the next): 3 or 2 beats per bar where those fit clearly better, else 4/4;
    the downbeat is the most accented beat of the bar. Compound metres are conducted by the dotted quarter:
    a 6/8 whose dotted quarter is at 60 BPM or faster is beaten in two and reported as ``meter="2/4"``
    (beats = dotted quarters, as a conductor beats it); a slower 6/8 is beaten in six and reported as
    ``meter="6/8"`` (beats = eighth notes). 9/8 and 12/8 come out as "3/4" and "4/4" by the dotted quarter.

    Beats are not placed in long silences, before the first clear onset or after the last one (a held final
    chord gets its beat and is then held, not beaten); a beat the smooth tempo curve places between notes
    moves to a clear onset within a third of a beat (ritardandi). Beat times are reported `_LATENCY_S` before
    the onset-strength peaks, which come during the attack of a note.
    """
    report = progress if progress is not None else (lambda fraction, message: None)
    if meter is not None and meter not in METERS:
        raise ValueError(f"meter must be one of {sorted(METERS)} or None, got {meter!r}")
    frame_rate = float(frame_rate)
    if not np.isfinite(frame_rate) or frame_rate <= 0:
        raise ValueError(f"frame_rate must be positive, got {frame_rate!r}")
    y = _samples(audio)
    duration = len(y) / _SR
    num_frames = max(1, int(np.ceil(duration * frame_rate - 1e-6)))
    report(0.0, "music analysis: spectral features")
    feats = _features(y)
    report(0.3, "music analysis: loudness and articulation")
    contours = _contours(feats, num_frames, frame_rate)
    report(0.45, "music analysis: tempo and beats")
    beats = _beats(feats, meter, report)
    report(0.9, "music analysis: phrases")
    phrases = _phrases(feats, beats)
    report(1.0, "music analysis: done")
    return MusicAnalysis(
        duration_s=float(duration),
        beats_s=beats.times,
        beat_in_bar=beats.in_bar,
        meter=beats.meter,
        tempo_bpm=beats.tempo,
        loudness=contours["loudness"],
        onset_strength=contours["onset"],
        articulation=contours["articulation"],
        silent=contours["silent"],
        phrase_starts_s=phrases,
        frame_rate=frame_rate,
    )


def _samples(audio) -> np.ndarray:
    """Mono float32 samples at 22050 Hz (load_audio guarantees mono and finite values)."""
    return (audio if isinstance(audio, Audio) else load_audio(audio)).samples


# ---------------------------------------------------------------------------------------------------------------
# Features at _FPS


@dataclass
class _Features:
    logmel: np.ndarray  # (128, n) float32 dB, floored 80 dB below the loudest bin
    env: np.ndarray  # (n,) onset strength (spectral flux of the log-mel spectrogram)
    bass: np.ndarray  # (n,) onset strength below ~300 Hz
    db: np.ndarray  # (n,) RMS in dBFS
    ref_db: float  # the piece's loud level: 95th percentile of the RMS of its sounding frames
    active: np.ndarray  # (n,) bool, frames above the silence floors (absolute and relative)
    silent: np.ndarray  # (n,) bool, below the floors or in a release (the sound dying away after it stops)

    @property
    def n(self) -> int:
        return len(self.env)

    @cached_property
    def cumulative(self) -> np.ndarray:
        """(128, n + 1) running sums of `logmel` over time (for span means)."""
        out = np.zeros((self.logmel.shape[0], self.n + 1))
        np.cumsum(self.logmel, axis=1, dtype=np.float64, out=out[:, 1:])
        return out


def _features(y: np.ndarray) -> _Features:
    import librosa
    import scipy.ndimage as ndi

    mel = mel_power(y) if len(y) else np.zeros((128, 1), np.float32)
    logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0).astype(np.float32)
    env = librosa.onset.onset_strength(S=logmel, sr=_SR, hop_length=_HOP).astype(np.float64)
    bass = librosa.onset.onset_strength(S=logmel[:12], sr=_SR, hop_length=_HOP).astype(np.float64)
    n = logmel.shape[1]
    if len(y) >= 1024:
        rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=_HOP)[0]
    else:
        rms = np.full(n, np.sqrt(np.mean(np.square(y, dtype=np.float64))) if len(y) else 0.0)
    rms = np.resize(rms, n) if len(rms) != n else rms
    db = 20.0 * np.log10(np.maximum(rms.astype(np.float64), 1e-6))
    # The loud level: smoothed over 200 ms, 95th percentile of the frames above the absolute floor.
    smooth = _smooth_db(db, 0.2)
    sounding = smooth > _SILENCE_DBFS
    ref_db = float(np.percentile(smooth[sounding], 95)) if sounding.any() else _SILENCE_DBFS
    quiet = (smooth < _SILENCE_DBFS) | (smooth < ref_db - _SILENCE_REL_DB)
    quiet = _drop_short(quiet, 0.15)
    active = ~quiet
    env[ndi.binary_erosion(quiet, structure=np.ones(5, bool), border_value=1)] = 0.0  # floor flicker
    bass[ndi.binary_erosion(quiet, structure=np.ones(5, bool), border_value=1)] = 0.0
    # Releases: the level has fallen far below its peak of the last second and no note has started since.
    fast = _smooth_db(db, 0.1)
    fallen = _running_max(fast, _RELEASE_WINDOW_S) - fast > _RELEASE_DROP_DB
    scale = np.percentile(env[active], 99) if active.any() else 0.0
    rising = fast - np.r_[np.full(5, fast[0]), fast[:-5]] > 3.0  # a new note raises the level
    note = (env > 0.3 * scale) & rising if scale > 0 else np.zeros(n, bool)
    recent_onset = _running_max(note.astype(float), 0.3) > 0
    silent = quiet | (fallen & ~recent_onset)
    silent = _drop_short(silent, _MIN_REST_S) | quiet
    return _Features(logmel, env, bass, db, ref_db, active, silent)


def _drop_short(mask: np.ndarray, seconds: float) -> np.ndarray:
    """`mask` without its runs shorter than `seconds` (a morphological opening, edges extended)."""
    import scipy.ndimage as ndi

    w = max(1, int(round(seconds * _FPS)))
    padded = np.pad(mask, w, mode="edge")
    return ndi.binary_opening(padded, structure=np.ones(w, bool))[w:-w]


def _running_max(x: np.ndarray, seconds: float) -> np.ndarray:
    """Maximum of `x` over the last `seconds` (the window ends at each frame)."""
    import scipy.ndimage as ndi

    size = max(1, int(round(seconds * _FPS)))
    return ndi.maximum_filter1d(x, size, origin=(size - 1) // 2, mode="nearest")


def _smooth_db(db: np.ndarray, seconds: float) -> np.ndarray:
    """Average power over `seconds` (a moving mean of the power, back in dB)."""
    import scipy.ndimage as ndi

    size = max(1, int(round(seconds * _FPS)))
    power = ndi.uniform_filter1d(10.0 ** (db / 10.0), size, mode="nearest")
    return 10.0 * np.log10(np.maximum(power, 1e-12))


# ---------------------------------------------------------------------------------------------------------------
# Contours at the motion frame rate


def _contours(f: _Features, num_frames: int, frame_rate: float) -> dict:
    import scipy.ndimage as ndi

    t_out = np.arange(num_frames) / frame_rate
    t_in = np.arange(f.n) / _FPS

    def resample(x):
        return np.interp(t_out, t_in, x)

    loud_db = _smooth_db(f.db, 0.2)
    loudness = np.clip((loud_db - (f.ref_db - _LOUDNESS_RANGE_DB)) / _LOUDNESS_RANGE_DB, 0.0, 1.0)
    loudness[~f.active] = np.minimum(loudness[~f.active], 0.05)

    # Onset strength: the flux normalised by a high percentile of the sounding frames, max-pooled per output frame.
    env = f.env
    scale = np.percentile(env[f.active], 99) if f.active.any() else 0.0
    onset = np.clip(env / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(env)
    width = max(1, int(round(_FPS / frame_rate)))
    onset = ndi.maximum_filter1d(onset, width, mode="nearest")

    articulation = _articulation(f)
    silent = resample(f.silent.astype(float)) > 0.5
    return {
        "loudness": resample(loudness).astype(np.float32),
        "onset": resample(onset).astype(np.float32),
        "articulation": resample(articulation).astype(np.float32),
        "silent": silent,
    }


def _articulation(f: _Features) -> np.ndarray:
    """0 legato .. 1 staccato: how far the level falls below its recent peak between note onsets.

    Sustained notes keep the RMS near its running maximum; detached notes decay (or stop) before the next
    onset. The mean shortfall over ~1 s (in dB) maps 1.5 dB -> 0 and 7.5 dB -> 1.
    """
    import scipy.ndimage as ndi

    db = np.maximum(f.db, f.ref_db - _LOUDNESS_RANGE_DB)
    peak = _running_max(db, 0.3)
    drop = peak - db
    w = (~f.silent).astype(float)
    size = int(1.0 * _FPS)
    num = ndi.uniform_filter1d(drop * w, size, mode="nearest")
    den = ndi.uniform_filter1d(w, size, mode="nearest")
    mean_drop = np.where(den > 0.05, num / np.maximum(den, 1e-9), np.nan)
    if np.isnan(mean_drop).all():
        return np.full(f.n, 0.5)
    idx = np.arange(f.n)
    ok = ~np.isnan(mean_drop)
    mean_drop = np.interp(idx, idx[ok], mean_drop[ok])
    art = np.clip((mean_drop - 1.5) / 6.0, 0.0, 1.0)
    return ndi.uniform_filter1d(art, size, mode="nearest")


# ---------------------------------------------------------------------------------------------------------------
# Tempo, beats and metre


@dataclass
class _Beats:
    times: np.ndarray
    in_bar: np.ndarray
    meter: str
    tempo: np.ndarray

    @classmethod
    def empty(cls, meter: str | None) -> "_Beats":
        return cls(np.zeros(0), np.zeros(0, dtype=np.int64), meter or "4/4", np.zeros(0))


def _tempogram(env: np.ndarray):
    """Autocorrelation and Fourier tempograms of the onset envelope on the log-tempo grid `_BPM`.

    Windows of `_TG_WIN_S` every `_TG_STEP` frames; returns (A, F, centres, energy), A and F (windows, bpms),
    A the unbiased normalised autocorrelation at each tempo's lag, F the DFT magnitude normalised per window.
    """
    import scipy.fft
    import scipy.ndimage as ndi

    n = len(env)
    win = int(round(_TG_WIN_S * _FPS))
    e = (env - ndi.uniform_filter1d(env, int(_FPS), mode="nearest")).astype(np.float32)
    pad = np.pad(e, (win // 2, win))
    centres = np.arange(0, n, _TG_STEP)
    window = np.hanning(win).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(pad, win)[centres] * window
    spec = scipy.fft.rfft(frames, n=_TG_NFFT, axis=1, workers=-1)
    power = spec.real**2 + spec.imag**2
    maxlag = int(np.ceil(60.0 * _FPS / _BPM[0])) + 2
    ac = scipy.fft.irfft(power, n=_TG_NFFT, axis=1, workers=-1)[:, :maxlag]
    wac = np.correlate(window**2, window**2, mode="full")[win - 1 : win - 1 + maxlag]
    ac = ac / np.maximum(wac / wac[0], 1e-3)
    energy = ac[:, 0].copy()
    ac /= np.maximum(energy, 1e-12)[:, None]

    def sample(x, pos):
        i0 = np.clip(np.floor(pos).astype(int), 0, x.shape[1] - 2)
        frac = pos - i0
        return x[:, i0] * (1 - frac) + x[:, i0 + 1] * frac

    A = np.maximum(sample(ac, 60.0 * _FPS / _BPM), 0.0)
    F = sample(np.abs(spec), _BPM / 60.0 / _FPS * _TG_NFFT)
    F /= np.maximum(F.max(axis=1, keepdims=True), 1e-12)
    return A, F, centres, energy


def _viterbi_tempo(
    sal: np.ndarray, valid: np.ndarray, bins: np.ndarray, centre: float, width_oct: float, step: float = 1.0
):
    """Smooth tempo path over `bins` (BPM) through a salience (windows, bins); a log-normal prior at `centre`."""
    import librosa

    prior = np.exp(-0.5 * (np.log2(bins / centre) / width_oct) ** 2)
    emit = (sal / np.maximum(sal.max(axis=1, keepdims=True), 1e-12) + 0.05) * prior
    emit[~valid] = prior
    emit /= emit.sum(axis=1, keepdims=True)
    k = np.arange(len(bins))
    trans = np.exp(-0.5 * ((k[:, None] - k[None, :]) / step) ** 2)
    trans /= trans.sum(axis=1, keepdims=True)
    jump = 2e-3
    trans = trans * (1 - jump) + jump / len(bins)
    path = librosa.sequence.viterbi(emit.T, trans)
    return bins[path]


def _tempo_curve(
    S, valid, centres, centre: float, n: int, levels=((1.0, 1.0),), span: float = 0.55, prior_oct: float = 0.3
) -> np.ndarray:
    """Per-frame tempo (BPM) near `centre`: a smooth Viterbi path on a fine log-tempo grid (1/96 octave).

    The salience of a tempo sums the tempogram at `levels` (ratio, weight) of it: a tatum's salience includes
    the slower levels it divides (its beats and bars), which an alias a fifth away (3:2) does not have.
    """
    fine = centre * 2.0 ** (np.arange(-span, span + 1e-9, 1.0 / 96.0))
    fine = fine[(fine >= _BPM[0]) & (fine <= _BPM[-1])]
    if len(fine) < 3:
        return np.full(n, centre)
    logs = np.log2(_BPM)
    sal = np.zeros((S.shape[0], len(fine)))
    for ratio, weight in levels:
        pos = np.log2(fine * ratio)
        inside = (pos >= logs[0]) & (pos <= logs[-1])
        k = np.clip(np.searchsorted(logs, pos), 1, len(_BPM) - 1)
        frac = np.clip((pos - logs[k - 1]) / (logs[k] - logs[k - 1]), 0.0, 1.0)
        sal += weight * inside * (S[:, k - 1] * (1 - frac) + S[:, k] * frac)
    path = _viterbi_tempo(sal, valid, fine, centre, prior_oct, step=2.5)
    return np.interp(np.arange(n), centres, path)


def _track(env: np.ndarray, bpm_frames: np.ndarray, tightness: float = _TIGHTNESS) -> np.ndarray:
    """librosa's dynamic-programming beat tracker on a time-varying tempo, returning feature-frame indices.

    The tracker works in whole frames per beat; at fast pulses that rounding is a few percent of the period,
    so the envelope is upsampled until a beat spans at least 64 frames. Its local score grows with the frames
    per beat while its tempo penalty does not, so `tightness` is given for librosa's usual scale (~21 frames per
    beat: hop 512 at 120 BPM) and scaled here.
    """
    import librosa

    fpb = 60.0 * _FPS / float(np.max(bpm_frames))
    up = int(min(8, max(1, np.ceil(64.0 / fpb))))
    n = len(env)
    if up > 1:
        x = np.arange(n * up) / up
        env_u = np.interp(x, np.arange(n), env)
        bpm_u = np.interp(x, np.arange(n), bpm_frames)
    else:
        env_u, bpm_u = env, bpm_frames
    scale = float(np.median(60.0 * _FPS * up / bpm_u)) / 21.5
    _, beats = librosa.beat.beat_track(
        onset_envelope=env_u, sr=_SR * up, hop_length=_HOP, bpm=bpm_u, tightness=tightness * scale, trim=False
    )
    return np.unique(np.clip(np.round(np.asarray(beats) / up).astype(int), 0, n - 1))


def _pick_tatum(G: np.ndarray) -> float:
    """The fastest salient pulse: the strongest tempogram peak, or a faster peak at 2, 3, 4, 6 or 8 times it."""
    import scipy.signal

    lo, hi = _TATUM_RANGE
    inside = (lo <= _BPM) & (hi >= _BPM)
    peaks = [p for p in scipy.signal.find_peaks(np.r_[0, G, 0])[0] - 1 if inside[p]]
    if not peaks:
        return float(_BPM[inside][np.argmax(G[inside])])
    top = max(peaks, key=lambda p: G[p])
    tatum = _BPM[top]
    for p in sorted(peaks, key=lambda p: -_BPM[p]):
        ratio = _BPM[p] / _BPM[top]
        integer = round(ratio) in (2, 3, 4, 6, 8) and abs(ratio - round(ratio)) < 0.05 * ratio
        if ratio > 1.5 and G[p] >= 0.3 * G[top] and integer:
            tatum = _BPM[p]
            break
    return float(tatum)


def _local_max(x: np.ndarray, idx: np.ndarray, radius: int) -> np.ndarray:
    i = np.clip(idx[:, None] + np.arange(-radius, radius + 1)[None, :], 0, len(x) - 1)
    return x[i].max(axis=1)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def _span_change(f: _Features, idx: np.ndarray, width: np.ndarray, bands: int) -> np.ndarray:
    """Distance between the mean log-mel spectra (lowest `bands` bands) of `width` frames after and before each
    index: large where the harmony or the bass changes."""
    cums = f.cumulative[:bands]
    a = np.clip(idx - width, 0, f.n)
    b = np.clip(idx + width, 0, f.n)
    i = np.clip(idx, 0, f.n)
    before = (cums[:, i] - cums[:, a]) / np.maximum(i - a, 1)
    after = (cums[:, b] - cums[:, i]) / np.maximum(b - i, 1)
    return np.linalg.norm(after - before, axis=0) / np.sqrt(bands)


def _beat_accents(f: _Features, frames: np.ndarray) -> np.ndarray:
    """Accent of each beat: onset strength, bass onsets and the spectral change from the previous beat's span
    to this one's (whole spectrum and bass), each z-scored."""
    if len(frames) < 2:
        return np.zeros(len(frames))
    width = np.maximum(np.diff(frames, append=frames[-1] + np.diff(frames)[-1]), 1)
    return (
        _zscore(_local_max(f.env, frames, 2))
        + _zscore(_local_max(f.bass, frames, 2))
        + _zscore(_span_change(f, frames, width, f.logmel.shape[0]))
        + _zscore(_span_change(f, frames, width, 16))
    )


def _fit(acc: np.ndarray, levels: tuple) -> tuple[float, int]:
    """Fit a metrical accent template to an accent sequence over all phases.

    `levels` are periods in sequence steps, coarse to fine (e.g. (4, 2) for a 4/4 bar of beats with a weaker
    mid-bar accent): each step belongs to the class of the first level dividing its position in the bar, and
    the template is the class means, the bar-start class being the most accented. Returns (log-likelihood ratio
    against no structure, per step, penalised for the template's size; best phase), the phase being the
    sequence index of the first bar start.
    """
    bar = levels[0]
    n = len(acc)
    if n < 2 * bar:
        return -np.inf, 0
    a = acc - acc.mean()
    total = float((a * a).sum())
    if total <= 1e-12:
        return -np.inf, 0
    pos = np.arange(n) % bar
    sums = np.bincount(pos, weights=a, minlength=bar)
    counts = np.bincount(pos, minlength=bar).astype(float)
    rel = np.arange(bar)
    best, best_phase = (False, -1.0), 0
    for phase in range(bar):
        p = (rel - phase) % bar
        cls = np.full(bar, len(levels))
        for c, m in reversed(list(enumerate(levels))):
            cls[p % m == 0] = c
        cs = np.bincount(cls, weights=sums, minlength=len(levels) + 1)
        cn = np.bincount(cls, weights=counts, minlength=len(levels) + 1)
        between = float((cs[cn > 0] ** 2 / cn[cn > 0]).sum())
        means = cs / np.maximum(cn, 1)
        accented = bool(cn[0] > 0 and means[0] >= means[cn > 0].max())  # the bar starts on its strongest step
        if (accented, between) > best:
            best, best_phase = (accented, between), phase
    best = best[1]
    r2 = min(best / total, 0.999)
    lr = -n * np.log(1.0 - r2) - len(levels) * np.log(n) / 2 - np.log(bar)
    return lr / np.sqrt(n), best_phase


# Candidate beat levels: tatums per beat -> the faster levels whose periodicity supports that beat.
_MULTIPLES = {1: (1,), 2: (1, 2), 3: (1, 3), 4: (1, 2, 4), 6: (1, 3, 6), 8: (1, 2, 4, 8)}
_BEAT_RANGE = (30.0, 220.0)  # conducted beats slower or faster than this are not considered
# Scoring of (beat level, beats per bar) hypotheses, see _score.
_W_ON = 1.0  # on-beat onset strength against the subdivisions
_ON_CAP = 1.0  # beyond e^1 the on-beat contrast says nothing more (clean synthetic tracks reach e^4)
_W_SUB = 1.0  # subdivision consistent with the level (halves for simple beats, thirds for compound)
_W_PRIOR = 1.0  # log-normal tempo prior
_PRIOR_BPM = 120.0  # simple beats (quarter notes)
_PRIOR_BPM_COMPOUND = 70.0  # compound beats (dotted quarters)
_PRIOR_OCT = 0.6
_COMPOUND_COST = 1.0  # compound beats need the eighth-note accents to say 6/8 rather than 3/4:
_TERNARY_MARGIN = 0.25  # ... by this much (_ternary_evidence)
_TRIPLE_MARGIN = 0.2  # bar-template evidence needed for 3 beats per bar over 2 or 4
_DUPLE_MARGIN = 0.2  # ... and for 2 over 4 (4/4 is the fallback)


@dataclass
class _Candidate:
    per_tatum: int  # tatums per beat (3 and 6: dotted quarters over eighths/sixteenths); 0: free tempo path
    frames: np.ndarray  # beat frames
    bpm: np.ndarray  # per-frame tempo curve
    on: float = 0.0  # mean onset strength at the beats, halfway between them and at the thirds
    half: float = 0.0
    thirds: float = 0.0
    bars: dict | None = None  # beats per bar -> (template fit, phase)
    contrast: float = 0.0  # mean log ratio of the onset strength at the beats to that between them
    ternary: float = 0.0  # compound beats: how much better 6/8 fits the eighth-note accents than 3/4

    @property
    def compound(self) -> bool:
        """Dotted-quarter beats: three tatums per beat, or (free tempo path) thirds stronger than halves."""
        return self.per_tatum in (3, 6) or (self.per_tatum == 0 and self.thirds > self.half)


def _subdivision_strength(f: _Features, frames: np.ndarray) -> tuple[float, float, float, float]:
    """Mean onset strength at the beats, halfway between them and at their thirds; and the on-beat contrast:
    the mean over beats of log(beat / its subdivisions), each clipped to +-_ON_CAP (a level that is too slow
    has beats no stronger than what lies between them, in any section)."""
    env = f.env / max(float(f.env[f.active].mean()) if f.active.any() else 0.0, 1e-9)
    a = frames[:-1].astype(float)
    d = np.diff(frames).astype(float)

    def at(x):
        return _local_max(env, np.round(x).astype(int), 1)

    on, half, thirds = at(a), at(a + d / 2), (at(a + d / 3) + at(a + 2 * d / 3)) / 2
    contrast = np.clip(
        np.log(np.maximum(on, 0.05) / np.maximum((half + thirds) / 2, 0.05)), -_ON_CAP, _ON_CAP
    )
    return float(on.mean()), float(half.mean()), float(thirds.mean()), float(contrast.mean())


def _fix_phase(f: _Features, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Move the beats to the off-beats (halfway) when those carry more accent (bass, harmony changes).

    Decided for each passage between abrupt tempo changes, after which the tracker may lock onto the other
    phase. (Deciding it beat by beat, with a two-state Viterbi, helped some pieces and hurt as many.)"""
    if len(frames) < 8:
        return frames
    mids = (frames[1:] + frames[:-1]) // 2
    acc = _beat_accents(f, np.sort(np.r_[frames, mids]))
    on, off = acc[0::2][:-1], acc[1::2]
    tempo = bpm[frames[:-1]]
    jumps = np.flatnonzero(np.abs(np.diff(np.log(tempo))) > np.log(1.08)) + 1
    out = frames.copy()
    for a, b in zip(np.r_[0, jumps], np.r_[jumps, len(mids)], strict=True):
        if b - a >= 8 and off[a:b].mean() > on[a:b].mean():
            out[a:b] = mids[a:b]
    return out


_FREE_CENTRE = 100.0
_FREE_LEVELS = ((1.0, 1.0), (2.0, 0.5), (3.0, 0.3), (1 / 2, 0.5), (1 / 3, 0.3), (1 / 4, 0.3))
_TATUM_LEVELS = ((1.0, 1.0), (1 / 2, 0.5), (1 / 3, 0.5), (1 / 4, 0.5), (1 / 6, 0.5), (1 / 8, 0.5))


def _candidates(f: _Features, S, valid, centres, tatum: float, report) -> list[_Candidate]:
    """Beat tracks at the metrical levels over the tatum: one tatum tempo curve, divided by each level."""
    out = []
    tatum_bpm = _tempo_curve(S, valid, centres, tatum, f.n, _TATUM_LEVELS)
    levels = [b for b in _MULTIPLES if _BEAT_RANGE[0] <= tatum / b <= _BEAT_RANGE[1]]
    curves = [(b, tatum_bpm / b) for b in levels]
    # A free beat-level path (any tempo changes, levels may differ between sections), and its half and double.
    free = _tempo_curve(S, valid, centres, _FREE_CENTRE, f.n, _FREE_LEVELS, span=1.3, prior_oct=0.7)
    curves += [
        (0, free * m) for m in (0.5, 1.0, 2.0) if _BEAT_RANGE[0] <= np.median(free * m) <= _BEAT_RANGE[1]
    ]
    for i, (b, bpm) in enumerate(curves):
        report(0.5 + 0.35 * i / len(curves), "music analysis: beat tracking")
        if any(np.percentile(np.abs(np.log(bpm / c.bpm)), 95) < 0.02 for c in out):
            continue  # (nearly) the same tempo curve as an earlier level
        frames = _track(f.env, bpm)
        if len(frames) < 4:
            continue
        if b not in (3, 6):
            frames = _fix_phase(f, frames, bpm)
        c = _Candidate(b, frames, bpm)
        c.on, c.half, c.thirds, c.contrast = _subdivision_strength(f, frames)
        acc = _beat_accents(f, frames)
        c.bars = {g: _fit(acc, (g, 2) if g == 4 else (g,)) for g in (2, 3, 4)}
        if c.compound:
            c.ternary = _ternary_evidence(f, frames)
        out.append(c)
    return out


def _ternary_evidence(f: _Features, frames: np.ndarray) -> float:
    """Split each beat into three (eighth notes): how much better their accents fit 6/8 (accents on eighths 0
    and 3 of six) than 3/4 (on 0, 2 and 4). Runs of eighth notes alone cannot tell the two apart."""
    if len(frames) < 8:
        return 0.0
    nxt = np.r_[frames[1:], 2 * frames[-1] - frames[-2]]
    eighths = np.round(np.stack([frames + (nxt - frames) * k / 3.0 for k in range(3)], axis=1).ravel())
    idx = np.clip(eighths.astype(int), 0, f.n - 1)
    width = np.maximum(np.diff(idx, append=idx[-1] + 1), 1)
    acc = (
        _zscore(_local_max(f.env, idx, 2))
        + _zscore(_local_max(f.bass, idx, 2))
        + _zscore(_span_change(f, idx, width, f.logmel.shape[0]))
    )
    return _fit(acc, (6, 3))[0] - _fit(acc, (6, 2))[0]


def _score(c: _Candidate) -> float:
    """How plausible `c` is as the conducted beat: beats stronger than what lies between them, subdivided the
    way the level says (halves, or thirds for compound beats), at a usual conducting tempo; compound beats
    only where the eighth-note accents say 6/8 rather than 3/4."""
    sub = (c.thirds - c.half) if c.compound else (c.half - c.thirds)
    sub /= max(c.half + c.thirds, 1e-9)
    bpm = float(np.median(c.bpm[c.frames]))
    centre = _PRIOR_BPM_COMPOUND if c.compound else _PRIOR_BPM
    prior = -0.5 * (np.log2(bpm / centre) / _PRIOR_OCT) ** 2
    unproven = c.compound and c.ternary < _TERNARY_MARGIN
    return _W_ON * c.contrast + _W_SUB * sub + _W_PRIOR * prior - (_COMPOUND_COST if unproven else 0.0)


def _rhythmless(f: _Features) -> bool:
    """Too little sound, no clear onsets (a held tone, a drone), or white-noise-like (a flat spectrum)."""
    if f.active.sum() < 1.5 * _FPS:
        return True
    if np.percentile(f.env[f.active], 99) < _MIN_ONSET_FLUX:
        return True
    mel = f.logmel[:, f.active].astype(np.float64)
    flatness_db = mel.mean(axis=0) - 10.0 * np.log10(np.mean(10.0 ** (mel / 10.0), axis=0))
    return float(np.median(flatness_db)) > _NOISE_FLATNESS_DB


def _beats(f: _Features, meter: str | None, report) -> _Beats:
    if _rhythmless(f):
        return _Beats.empty(meter)
    A, F, centres, energy = _tempogram(f.env)
    S = A * F
    valid = f.active[centres] & (energy > 1e-9 * max(energy.max(), 1e-30))
    if valid.sum() < 3:
        return _Beats.empty(meter)
    Sn = S / np.maximum(S.max(axis=1, keepdims=True), 1e-12)
    tatum = _pick_tatum(Sn[valid].mean(axis=0))
    cands = _candidates(f, S, valid, centres, tatum, report)
    if meter == "6/8" and any(c.compound for c in cands):
        cands = [c for c in cands if c.compound]
    if not cands:
        return _Beats.empty(meter)
    best = max(cands, key=_score)
    g = _beats_per_bar(best) if meter is None else (2 if meter == "6/8" else METERS[meter])
    return _beats_from(f, best, g, meter)


def _beats_per_bar(c: _Candidate) -> int:
    """3 or 2 beats per bar when the bar-accent templates clearly say so, else 4 (compound beats: else 2,
    6/8 being far more common than 12/8)."""
    fit = {g: c.bars[g][0] if np.isfinite(c.bars[g][0]) else -np.inf for g in (2, 3, 4)}
    chance = 4.0 / np.sqrt(max(len(c.frames), 1))  # a chance gain of a likelihood ratio of ~4, per sqrt(step)
    if fit[3] > max(fit[2], fit[4]) + max(_TRIPLE_MARGIN, chance) and fit[3] > -0.1:
        return 3
    margin = max(_DUPLE_MARGIN, chance)
    if c.compound:  # 12/8 is rare: it needs twice the evidence
        return 4 if fit[4] > fit[2] + 2 * margin else 2
    return 2 if fit[2] > fit[4] + margin else 4


def _beats_from(f: _Features, c: _Candidate, g: int, meter: str | None) -> _Beats:
    frames = _snap(f, c.frames, c.bpm[c.frames])
    beat_bpm = c.bpm[frames]
    phase = c.bars[g][1] if np.isfinite(c.bars[g][0]) else 0
    in_bar = (np.arange(len(frames)) - phase) % g
    keep = _keep(f, frames, beat_bpm)
    in_bar = _restart_bars(f, frames, keep, in_bar, g)
    name = {2: "2/4", 3: "3/4", 4: "4/4"}[g]
    slow_compound = c.compound and g == 2 and np.median(beat_bpm) < _COMPOUND_IN_6_BELOW and meter is None
    if meter == "6/8" or slow_compound:
        # conducted in six: each (dotted-quarter) beat split into three eighth-note beats
        nxt = np.r_[frames[1:], frames[-1] + (frames[-1] - frames[-2] if len(frames) > 1 else 0)]
        last = np.r_[~keep[1:] | (nxt[:-1] - frames[:-1] > 2.5 * 60 * _FPS / beat_bpm[:-1]), True]
        parts = []
        for k in range(3):
            part = np.round(frames + (nxt - frames) * k / 3.0).astype(int)
            parts.append((part, in_bar * 3 + k, beat_bpm * 3, keep & ((k == 0) | ~last)))
        frames, in_bar, beat_bpm, keep = (np.stack([p[i] for p in parts], axis=1).ravel() for i in range(4))
        name = "6/8"
    frames, in_bar, beat_bpm = frames[keep], in_bar[keep], beat_bpm[keep]
    times = np.maximum(frames / _FPS - _LATENCY_S, 0.0)
    tempo = _beat_tempo(times, beat_bpm)
    return _Beats(times.astype(np.float64), in_bar.astype(np.int64), name, tempo)


def _support(f: _Features, frames: np.ndarray) -> tuple[np.ndarray, float]:
    """Onset strength at each beat, and its median over the sounding beats."""
    sup = _local_max(f.env, frames, 3)
    sounding = ~f.silent[frames]
    return sup, float(np.median(sup[sounding])) if sounding.any() else 0.0


def _snap(f: _Features, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Move beats that fall between notes onto a clear onset within a third of a beat (ritardandi, fermata
    chords arrive later than the smooth tempo curve predicts), keeping half a beat between beats."""
    sup, med = _support(f, frames)
    if med <= 0:
        return frames
    out = frames.copy()
    period = 60.0 * _FPS / bpm
    for k in np.flatnonzero(sup < 0.5 * med):
        reach = int(0.35 * period[k])
        lo = max(frames[k] - reach, out[k - 1] + int(0.5 * period[k]) if k > 0 else 0)
        hi = min(frames[k] + reach, frames[k + 1] - int(0.5 * period[k]) if k + 1 < len(frames) else f.n - 1)
        if hi > lo:
            j = lo + int(np.argmax(f.env[lo : hi + 1]))
            if f.env[j] >= med:
                out[k] = j
    return out


def _keep(f: _Features, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Which beats to conduct: none in long silences (rests longer than two beats and 1.2 s), none before the
    first clear onset, and none after the last one (a held final chord is held, not beaten)."""
    import scipy.ndimage as ndi

    period = 60.0 * _FPS / bpm
    labels, count = ndi.label(f.silent)
    keep = np.ones(len(frames), bool)
    if count:
        lengths = np.bincount(labels.ravel())
        run = lengths[labels[frames]]
        keep &= ~((labels[frames] > 0) & (run >= np.maximum(1.2 * _FPS, 2.0 * period)))
    sup, med = _support(f, frames)
    clear = np.flatnonzero(keep & (sup >= 0.6 * med)) if med > 0 else np.zeros(0, int)
    if len(clear) == 0:
        return np.zeros(len(frames), bool)
    keep[: clear[0]] = False
    keep[clear[-1] + 1 :] = False
    return keep


def _restart_bars(
    f: _Features, frames: np.ndarray, keep: np.ndarray, in_bar: np.ndarray, g: int
) -> np.ndarray:
    """After a long rest the bar count may restart: re-fit the downbeat phase of each later passage."""
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return in_bar
    gaps = np.flatnonzero(np.diff(idx) > 1) + 1  # beats dropped in between: a rest
    if len(gaps) == 0:
        return in_bar
    out = in_bar.copy()
    levels = (g, 2) if g == 4 else (g,)
    for a, b in zip(gaps, np.r_[gaps[1:], len(idx)], strict=True):
        seg = idx[a:b]
        if len(seg) >= 3 * g:
            fit, phase = _fit(_beat_accents(f, frames[seg]), levels)
            if np.isfinite(fit) and fit > 0:
                out[seg] = (np.arange(len(seg)) - phase) % g
    return out


def _beat_tempo(times: np.ndarray, tracked_bpm: np.ndarray) -> np.ndarray:
    """60 / local inter-beat interval, median-smoothed over 5 beats; the tracked tempo across gaps."""
    import scipy.ndimage as ndi

    if len(times) < 2:
        return tracked_bpm.astype(np.float64)
    ibi = np.diff(times)
    expected = 60.0 / tracked_bpm
    ok = np.abs(np.log(ibi / expected[:-1])) < np.log(1.5)
    local = np.where(ok, 60.0 / ibi, tracked_bpm[:-1])
    local = np.r_[local, local[-1]]
    return ndi.median_filter(local, 5, mode="nearest").astype(np.float64)


def _phrases(f: _Features, beats: _Beats) -> np.ndarray:
    """Phrase starts: the return of sound after a rest, and peaks of timbre/harmony novelty between spans of
    ~4 beats (a checkerboard kernel along the beat-synchronous MFCC self-similarity), at least 4 s apart."""
    import librosa

    t = beats.times
    if len(t) < 4:
        return np.zeros(0)
    frames = np.clip(np.round((t + _LATENCY_S) * _FPS).astype(int), 0, f.n - 1)
    found = []  # (time, priority)
    # Rests inside the music: the phrase starts with the first beat after it.
    edges = np.flatnonzero(np.diff(f.silent.astype(np.int8)) == -1) + 1  # silent -> sounding
    for e in edges:
        k = int(np.searchsorted(frames, e - int(0.1 * _FPS)))
        if 0 < k < len(t):
            found.append((t[k], 0))
    # Novelty of beat-synchronous timbre and harmony.
    half = 4
    if len(t) >= 4 * half:
        mfcc = librosa.feature.mfcc(S=f.logmel, n_mfcc=13)
        sync = librosa.util.sync(mfcc, frames, aggregate=np.mean)[:, 1:]  # span starting at each beat
        x = (sync - sync.mean(axis=1, keepdims=True)) / (sync.std(axis=1, keepdims=True) + 1e-9)
        x /= np.linalg.norm(x, axis=0, keepdims=True) + 1e-9
        ssm = x.T @ x
        k = np.arange(-half, half)
        sign = np.where(k[:, None] < 0, 1.0, -1.0) * np.where(k[None, :] < 0, 1.0, -1.0)
        taper = np.exp(-0.5 * ((k[:, None] + 0.5) ** 2 + (k[None, :] + 0.5) ** 2) / half**2)
        kernel = sign * taper
        pad = np.pad(ssm, half, mode="edge")
        nov = np.array([(pad[i : i + 2 * half, i : i + 2 * half] * kernel).sum() for i in range(len(t))])
        nov = np.maximum(nov, 0)
        if nov.max() > 0:
            nov /= nov.max()
            peaks = librosa.util.peak_pick(
                nov,
                pre_max=half,
                post_max=half,
                pre_avg=2 * half,
                post_avg=2 * half,
                delta=0.1,
                wait=2 * half,
            )
            found += [(t[p], 1) for p in peaks if half <= p < len(t) - half]
    found.sort(key=lambda x: (x[1], x[0]))
    chosen: list[float] = []
    for time, _ in found:
        if time > t[0] + 1.0 and all(abs(time - c) >= 4.0 for c in chosen):
            chosen.append(time)
    return np.array(sorted(chosen), dtype=np.float64)
