"""Music analysis (vconductor.conducting.analyze): synthetic tracks with known beats, and the shared corpus when present."""

import json

import numpy as np
import pytest

from conftest import CORPUS
from vconductor.audio import Audio, load_audio
from vconductor.conducting import METERS, MusicAnalysis, analyze

SR = 22050
TOL = 0.07  # beat match tolerance (s), as mir_eval's default F-measure window


def f_measure(ref: np.ndarray, est: np.ndarray, tol: float = TOL) -> float:
    """Beat F-measure with one-to-one matching within `tol` (greedy by distance, like mir_eval's)."""
    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    pairs = sorted(
        (abs(r - e), i, j) for i, r in enumerate(ref) for j, e in enumerate(est) if abs(r - e) <= tol
    )
    used_r, used_e, hits = set(), set(), 0
    for _, i, j in pairs:
        if i not in used_r and j not in used_e:
            used_r.add(i)
            used_e.add(j)
            hits += 1
    precision, recall = hits / len(est), hits / len(ref)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def note(freq: float, dur: float, amp: float, decay: float = 0.25, harmonics: int = 5) -> np.ndarray:
    """A plucked/struck tone: a few harmonics, 5 ms attack, exponential decay, 10 ms release at `dur`."""
    t = np.arange(int(dur * SR)) / SR
    tone = sum(np.sin(2 * np.pi * freq * h * t) / h for h in range(1, harmonics + 1))
    env = np.minimum(t / 0.005, 1.0) * np.exp(-t / decay) * np.minimum((dur - t) / 0.01, 1.0)
    return (amp * tone * env).astype(np.float32)


def render(events, seconds: float, seed: int = 0) -> np.ndarray:
    """Mix (time, samples) events into `seconds` of audio with a little noise."""
    y = np.random.default_rng(seed).standard_normal(int(seconds * SR)).astype(np.float32) * 1e-4
    for t0, x in events:
        i = int(round(t0 * SR))
        n = min(len(x), len(y) - i)
        if n > 0:
            y[i : i + n] += x[:n]
    return y


def beat_track(
    beats, per_bar: int = 4, accent: bool = True, seconds: float | None = None, seed: int = 0, sub: int = 2
):
    """Chords on every beat, a bass note and a louder chord on each downbeat, `sub` - 1 soft ticks between."""
    beats = np.asarray(beats, float)
    events = []
    rng = np.random.default_rng(seed)
    for k, t in enumerate(beats):
        down = accent and k % per_bar == 0
        period = beats[min(k + 1, len(beats) - 1)] - beats[max(k - 1, 0)]
        period = period / 2 if len(beats) > 1 else 0.5
        root = 220.0 * 2 ** (rng.integers(0, 5) * 2 / 12)
        events.append((t, note(root * 2, 0.4, 0.25 if down else 0.12)))
        events.append((t, note(root * 2.5, 0.4, 0.12 if down else 0.06)))
        if down:
            events.append((t, note(root / 2, period * per_bar * 0.9, 0.35, decay=0.6)))
        for j in range(1, sub):
            events.append((t + period * j / sub, note(1320.0, 0.08, 0.03, decay=0.04)))
    end = seconds if seconds is not None else beats[-1] + 1.5
    return render(events, end, seed)


def analyse(y: np.ndarray, **kw) -> MusicAnalysis:
    return analyze(Audio(y, SR, 1), **kw)


def assert_valid(r: MusicAnalysis, duration: float, frame_rate: float = 30.0):
    T = int(np.ceil(duration * frame_rate - 1e-6))
    assert r.meter in METERS
    assert r.beats_s.dtype == np.float64 and r.tempo_bpm.dtype == np.float64
    assert np.issubdtype(r.beat_in_bar.dtype, np.integer)
    assert len(r.beats_s) == len(r.beat_in_bar) == len(r.tempo_bpm)
    assert np.all(np.diff(r.beats_s) > 0)
    assert np.all((r.beat_in_bar >= 0) & (r.beat_in_bar < r.beats_per_bar))
    assert np.all(r.tempo_bpm > 0)
    for x in (r.loudness, r.onset_strength, r.articulation):
        assert x.shape == (T,) and x.dtype == np.float32
        assert np.all((x >= 0) & (x <= 1))
    assert r.silent.shape == (T,) and r.silent.dtype == bool
    assert r.phrase_starts_s.dtype == np.float64
    assert r.num_frames == T and r.frame_rate == frame_rate


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_constant_tempo(bpm):
    beats = 1.0 + np.arange(0, 24, 60 / bpm)
    r = analyse(beat_track(beats))
    assert_valid(r, beats[-1] + 1.5)
    assert f_measure(beats, r.beats_s) >= 0.9
    assert np.median(r.tempo_bpm) == pytest.approx(bpm, rel=0.05)


def test_tempo_change():
    first = 1.0 + np.arange(32) * 0.5  # 120 BPM
    second = first[-1] + 60 / 84 * np.arange(1, 25)  # then 84 BPM
    beats = np.r_[first, second]
    r = analyse(beat_track(beats))
    assert f_measure(beats, r.beats_s) >= 0.9
    early = r.tempo_bpm[(r.beats_s > 3) & (r.beats_s < first[-1] - 3)]
    late = r.tempo_bpm[r.beats_s > first[-1] + 5]
    assert np.median(early) == pytest.approx(120, rel=0.05)
    assert np.median(late) == pytest.approx(84, rel=0.05)


@pytest.mark.parametrize("per_bar", [3, 4])
def test_metre_and_downbeats(per_bar):
    beats = 0.8 + np.arange(48) * 0.5
    r = analyse(beat_track(beats, per_bar=per_bar))
    assert r.meter == f"{per_bar}/4"
    assert f_measure(beats[::per_bar], r.downbeats_s) >= 0.9


def test_meter_override_sets_only_the_phase():
    beats = 0.8 + np.arange(48) * 0.5
    r = analyse(beat_track(beats, per_bar=3), meter="3/4")
    assert r.meter == "3/4"
    assert f_measure(beats[::3], r.downbeats_s) >= 0.9
    r2 = analyse(beat_track(beats, per_bar=4), meter="2/4")
    assert r2.meter == "2/4" and r2.beats_per_bar == 2
    assert f_measure(beats[::2], r2.downbeats_s) >= 0.9
    with pytest.raises(ValueError):
        analyse(beat_track(beats), meter="5/4")


def test_slow_compound_is_conducted_in_six():
    dotted = 0.8 + np.arange(24) * 60 / 50  # 6/8 with the dotted quarter at 50 BPM: eighths at 150
    eighths = np.sort(np.r_[dotted, dotted + 0.4, dotted + 0.8])
    r = analyse(beat_track(dotted, per_bar=2, sub=3), meter="6/8")
    assert r.meter == "6/8" and r.beats_per_bar == 6
    assert f_measure(eighths, r.beats_s) >= 0.8


def test_fast_compound_is_conducted_in_two():
    dotted = 0.8 + np.arange(30) * 0.75  # 6/8 with the dotted quarter at 80 BPM
    r = analyse(beat_track(dotted, per_bar=2, sub=3))
    assert r.meter == "2/4"
    assert f_measure(dotted, r.beats_s) >= 0.9
    assert f_measure(dotted[::2], r.downbeats_s) >= 0.9


def test_slow_compound_is_detected_and_conducted_in_six():
    dotted = 0.8 + np.arange(24) * 60 / 50
    eighths = np.sort(np.r_[dotted, dotted + 0.4, dotted + 0.8])
    r = analyse(beat_track(dotted, per_bar=2, sub=3))
    assert r.meter == "6/8"
    assert f_measure(eighths, r.beats_s) >= 0.8
    assert f_measure(dotted[::2], r.downbeats_s) >= 0.9


def test_articulation_staccato_above_legato():
    beats = 0.5 + np.arange(40) * 0.5
    freqs = 330 * 2 ** (np.arange(40) % 5 * 2 / 12)
    legato = render([(t, note(f, 0.5, 0.2, decay=5.0)) for t, f in zip(beats, freqs, strict=True)], 21)
    staccato = render([(t, note(f, 0.07, 0.2, decay=0.05)) for t, f in zip(beats, freqs, strict=True)], 21)
    a_leg = analyse(legato).articulation[30:-60].mean()
    a_sta = analyse(staccato).articulation[30:-60].mean()
    assert a_sta > a_leg + 0.3
    assert a_leg < 0.35


def test_loudness_follows_dynamics():
    beats = 0.5 + np.arange(48) * 0.5
    y = beat_track(beats, seconds=25)
    y[: 12 * SR] *= 0.1  # piano then forte (-20 dB)
    r = analyse(y)
    soft, loud = r.loudness[60:330].mean(), r.loudness[400:700].mean()
    assert loud > soft + 0.25
    assert loud > 0.75


def test_silence_in_the_middle_and_edges():
    beats = np.r_[1.0 + np.arange(16) * 0.5, 14.0 + np.arange(16) * 0.5]
    y = beat_track(beats, seconds=24)
    y[int(9.0 * SR) : int(14.0 * SR)] = 0  # cut the ring-out: a 5 s general pause
    r = analyse(y)
    t = np.arange(r.num_frames) / r.frame_rate
    assert r.silent[(t > 9.6) & (t < 13.8)].all()
    assert r.silent[t < 0.9].all() and r.silent[t > 23.0].all()
    assert not r.silent[(t > 2) & (t < 8)].any() and not r.silent[(t > 15) & (t < 21)].any()
    assert not np.any((r.beats_s > 9.6) & (r.beats_s < 13.8))
    assert f_measure(beats, r.beats_s) >= 0.9


def test_fermata_is_held_not_beaten():
    beats = 1.0 + np.arange(24) * 0.5
    events = [(t, note(440 * 2 ** ((k % 4) * 2 / 12), 0.45, 0.15)) for k, t in enumerate(beats)]
    hold = beats[-1] + 0.5
    events.append((hold, note(220, 3.0, 0.3, decay=20.0)))  # the final chord, held 3 s then released
    events.append((hold, note(330, 3.0, 0.2, decay=20.0)))
    r = analyse(render(events, hold + 5.0))
    assert r.beats_s[-1] <= hold + 0.25  # the chord is the last beat: no beats through the hold
    assert f_measure(np.r_[beats, hold], r.beats_s) >= 0.9
    t = np.arange(r.num_frames) / r.frame_rate
    assert not r.silent[(t > hold + 0.2) & (t < hold + 2.8)].any()
    assert r.silent[t > hold + 3.5].all()


@pytest.mark.parametrize(
    "y",
    [
        np.zeros(SR * 3, np.float32),
        np.zeros(SR // 2, np.float32),
        (0.1 * np.random.default_rng(1).standard_normal(SR // 2)).astype(np.float32),
        (0.1 * np.random.default_rng(2).standard_normal(SR * 8)).astype(np.float32),
        note(440, 6.0, 0.3, decay=100.0),
        np.zeros(1, np.float32),
    ],
    ids=["silence", "short-silence", "short-noise", "noise", "sustained-tone", "one-sample"],
)
def test_edge_cases_do_not_raise(y):
    r = analyse(y)
    assert_valid(r, len(y) / SR)
    if not y.any():
        assert r.silent.all() and r.loudness.max() == 0
    if len(y) <= SR // 2 or not y.any() or y.std() > 0.05:  # silence, noise, a held tone: nothing to beat
        assert len(r.beats_s) == 0 and r.meter == "4/4"


def test_inputs_frame_rate_and_progress(tmp_path):
    import soundfile as sf

    beats = 0.5 + np.arange(16) * 0.5
    y = beat_track(beats)
    path = tmp_path / "x.wav"
    sf.write(str(path), y, SR)
    calls = []
    a = analyze(path, progress=lambda f, m: calls.append((f, m)))
    b = analyze((y, SR))
    c = analyze(load_audio(path), frame_rate=60.0)
    assert_valid(c, len(y) / SR, 60.0)
    assert np.allclose(a.beats_s, b.beats_s, atol=0.02)
    assert calls and calls[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in calls)


# ----------------------------------------------------------------------------------------------------------------
# The shared corpus (rendered string quartets and a chorale with score-derived ground truth): the beat period
# must be right (half or double counts) on every piece; beat F-measure is reported.

CORPUS_PIECES = sorted(p.stem for p in CORPUS.glob("*.json")) if CORPUS.is_dir() else []


@pytest.mark.shared
@pytest.mark.skipif(not CORPUS_PIECES, reason="needs ../shared/corpus beside the repository")
@pytest.mark.parametrize("piece", CORPUS_PIECES)
def test_corpus_beat_period(piece, record_property):
    truth = json.loads((CORPUS / f"{piece}.json").read_text())
    audio = next(p for p in CORPUS.glob(f"{piece}.*") if p.suffix in (".flac", ".wav", ".ogg"))
    r = analyze(audio)
    ref = np.asarray(truth["beats_s"], float)
    true_period = float(np.median(np.diff(ref)))
    period = float(np.median(np.diff(r.beats_s)))
    ratios = [period / (true_period * m) for m in (0.5, 1.0, 2.0)]
    f = f_measure(ref, r.beats_s)
    record_property("beat_f_measure", round(f, 3))
    print(
        f"{piece}: period {period:.3f} s (true {true_period:.3f} s), beat F-measure {f:.3f}, meter {r.meter}"
    )
    assert min(abs(x - 1) for x in ratios) <= 0.08
