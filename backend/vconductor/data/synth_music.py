"""A small procedural composer and synthesiser: music whose beats, metre, tempo, dynamics, articulation and
rests are known exactly, so that conducting motion can be made truly synchronised to it.

A piece is a beat grid (tempo 60-160 BPM, 2, 3 or 4 beats per bar, sometimes a tempo change - abrupt or a
ritardando/accelerando over a phrase), phrases of four bars each with its own dynamic (held or a hairpin) and
articulation, sometimes a rest of a bar or two or an ending with a held chord. Notes: a bass on each downbeat
(sometimes on every beat), chords on the beats, a melody from the key's scale on beats and sometimes on the
half-beat, and optionally percussion (a low drum on downbeats, a tick on every beat). Tones come from a per-piece
wavetable (a few harmonics with a random spectral slope) under a plucked or sustained envelope.

:func:`compose` draws the score, :func:`render` makes the audio and :meth:`Piece.analysis` gives the
:class:`vconductor.analysis.MusicAnalysis` of what was composed (not of an analysis of the audio).
"""

from dataclasses import dataclass, field

import numpy as np

from ..analysis import MusicAnalysis
from ..audio import SAMPLE_RATE

METERS = {2: "2/4", 3: "3/4", 4: "4/4"}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 0, 4))  # scale degrees per bar
TABLE_SIZE = 2048
RELEASE_S = 0.08  # sustained notes fade out over this after their gate


@dataclass(frozen=True)
class SynthConfig:
    bpm_range: tuple[float, float] = (60.0, 160.0)
    beats_per_bar: tuple[int, ...] = (2, 3, 4)
    bars_per_phrase: int = 4
    tempo_change_prob: float = 0.4  # a piece has a tempo change at a phrase boundary
    tempo_change_range: tuple[float, float] = (1.15, 1.45)  # factor (or its inverse) of the change
    rest_prob: float = 0.3  # a piece has a rest of one or two bars (at least `rest_min_s`)
    rest_min_s: float = 1.2
    ending_prob: float = 0.12  # the piece ends inside the excerpt with a held chord
    intro_prob: float = 0.3  # the excerpt starts in silence before the first downbeat, else mid-piece
    percussion_prob: float = 0.65
    dynamic_range_db: float = 36.0  # velocity 0 .. 1 spans this many dB
    pre_roll_s: float = 4.0  # music before the excerpt (conducted, then cut) so that excerpts start mid-flow
    post_roll_s: float = 3.0


@dataclass
class Note:
    onset_s: float
    gate_s: float  # how long the key is held
    midi: float
    velocity: float  # 0 .. 1
    voice: str  # "bass", "chord", "melody"


@dataclass
class Piece:
    """A composed piece on [0, duration_s) with everything known about it."""

    duration_s: float
    beats_s: np.ndarray  # (B,) every sounding beat (beats inside rests are not included)
    beat_in_bar: np.ndarray  # (B,)
    tempo_bpm: np.ndarray  # (B,)
    beats_per_bar: int
    phrase_starts_s: np.ndarray
    notes: list[Note]
    hits: list[tuple[float, str, float]]  # percussion (time, "drum" | "tick", velocity)
    # Per-frame contours at `frame_rate` (what the music does, not an estimate).
    loudness: np.ndarray
    onset_strength: np.ndarray
    articulation: np.ndarray
    silent: np.ndarray
    frame_rate: float
    timbre: dict = field(default_factory=dict)
    excerpt_start_s: float = 0.0

    @property
    def meter(self) -> str:
        return METERS[self.beats_per_bar]

    def analysis(self) -> MusicAnalysis:
        return MusicAnalysis(
            duration_s=self.duration_s,
            beats_s=self.beats_s.astype(np.float64),
            beat_in_bar=self.beat_in_bar.astype(np.int64),
            meter=self.meter,
            tempo_bpm=self.tempo_bpm.astype(np.float64),
            loudness=self.loudness.astype(np.float32),
            onset_strength=self.onset_strength.astype(np.float32),
            articulation=self.articulation.astype(np.float32),
            silent=self.silent.astype(bool),
            phrase_starts_s=self.phrase_starts_s.astype(np.float64),
            frame_rate=self.frame_rate,
        )


def _beat_grid(rng: np.random.Generator, cfg: SynthConfig, start_s: float, end_s: float, n: int):
    """Beat times from `start_s` until past `end_s`, with the tempo at each beat (BPM)."""
    lo, hi = cfg.bpm_range
    bpm = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    beats_per_phrase = n * cfg.bars_per_phrase
    change_at, new_bpm, gradual = None, bpm, False
    if rng.random() < cfg.tempo_change_prob:
        change_at = beats_per_phrase * int(rng.integers(1, 4))
        factor = rng.uniform(*cfg.tempo_change_range)
        up = bpm * factor <= hi and (bpm / factor < lo or rng.random() < 0.5)
        new_bpm = float(np.clip(bpm * factor if up else bpm / factor, lo, hi))
        gradual = rng.random() < 0.5
    times, tempi = [], []
    t, k = start_s, 0
    while t < end_s + 1.0:
        local = bpm
        if change_at is not None and k >= change_at:
            ramp = min(1.0, (k - change_at + 1) / beats_per_phrase) if gradual else 1.0
            local = bpm * (new_bpm / bpm) ** ramp  # geometric: a ritardando feels even
        times.append(t)
        tempi.append(local)
        t += 60.0 / local
        k += 1
    return np.array(times), np.array(tempi)


def compose(
    rng: np.random.Generator, seconds: float, cfg: SynthConfig | None = None, frame_rate=30.0
) -> Piece:
    """Draw a piece around an excerpt of `seconds`: the piece spans [0, pre_roll + seconds + post_roll) and the
    excerpt starts at ``piece.excerpt_start_s`` (mid-piece, or in silence before the first downbeat)."""
    cfg = cfg or SynthConfig()
    pre = float(cfg.pre_roll_s)
    duration_s = pre + seconds + cfg.post_roll_s
    n = int(rng.choice(cfg.beats_per_bar))
    intro = rng.random() < cfg.intro_prob
    start = pre + rng.uniform(0.6, 2.0) if intro else rng.uniform(0.0, 0.3)
    times, tempi = _beat_grid(rng, cfg, start, duration_s, n)
    num_beats = len(times)
    pos = np.arange(num_beats) % n
    bar = np.arange(num_beats) // n
    phrase = bar // cfg.bars_per_phrase
    num_phrases = int(phrase[-1]) + 1

    # Dynamics: each phrase holds a level or swells/fades to the next phrase's level.
    levels = rng.uniform(0.05, 1.0, num_phrases + 1)
    hairpin = rng.random(num_phrases) < 0.4
    frac = (np.arange(num_beats) % (n * cfg.bars_per_phrase)) / (n * cfg.bars_per_phrase)
    velocity = np.where(
        hairpin[phrase], levels[phrase] + (levels[phrase + 1] - levels[phrase]) * frac, levels[phrase]
    )
    # Articulation per phrase: a legato or staccato piece, with phrases leaning either way.
    base_artic = rng.uniform(0.0, 1.0)
    artic = np.clip(base_artic + rng.normal(0.0, 0.2, num_phrases), 0.0, 1.0)[phrase]

    sounding = np.ones(num_beats, bool)
    downbeat_bars = bar[pos == 0]
    downbeat_times = times[pos == 0]

    def bars_between(a: float, b: float) -> np.ndarray:
        return downbeat_bars[(downbeat_times >= a) & (downbeat_times <= b)]

    rest_bars = bars_between(pre + 2.0, pre + seconds - 4.0)
    if rng.random() < cfg.rest_prob and len(rest_bars):
        first_bar = int(rng.choice(rest_bars))
        bars_in_rest = 1 + int(rng.integers(0, 2))
        while True:
            in_rest = (bar >= first_bar) & (bar < first_bar + bars_in_rest)
            last = np.flatnonzero(in_rest)[-1]
            if times[last] + 60.0 / tempi[last] - times[in_rest][0] >= cfg.rest_min_s:
                break
            bars_in_rest += 1  # too short to read as a rest at this tempo
        sounding &= ~in_rest
    end_s = None
    end_bars = bars_between(pre + 0.6 * seconds, pre + 0.9 * seconds)
    if rng.random() < cfg.ending_prob and len(end_bars):
        final = int(np.flatnonzero((bar == rng.choice(end_bars)) & (pos == 0))[0])
        sounding[final + 1 :] = False  # the final chord on this downbeat, held two beats
        end_s = times[final] + 2 * 60.0 / tempi[final]
    sounding &= times < duration_s

    # Notes.
    key = int(rng.integers(40, 52))
    scale = np.array(MAJOR if rng.random() < 0.6 else MINOR)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bass_every_beat = rng.random() < 0.3
    notes: list[Note] = []
    hits: list[tuple[float, str, float]] = []
    percussion = rng.random() < cfg.percussion_prob
    melody_degree = int(rng.integers(7, 12))
    for b in np.flatnonzero(sounding):
        period = 60.0 / tempi[b]
        final = end_s is not None and abs(times[b] - (end_s - 2 * period)) < 1e-9
        held = 2 * period if final else period
        gate = held * (0.95 - 0.7 * artic[b])  # staccato notes are short
        accent = 1.0 if pos[b] == 0 else 0.8
        v = float(velocity[b] * accent)
        root = progression[int(bar[b]) % len(progression)]
        chord = [scale[(root + i) % 7] + 12 * ((root + i) // 7) for i in (0, 2, 4)]
        if pos[b] == 0 or bass_every_beat:
            notes.append(Note(times[b], gate if not final else held, key - 12 + chord[0], v, "bass"))
        for c in chord:
            notes.append(Note(times[b], gate, key + 12 + c, 0.6 * v, "chord"))
        melody_degree = int(np.clip(melody_degree + rng.integers(-2, 3), 5, 16))
        mel_pitch = key + 24 + scale[melody_degree % 7] + 12 * (melody_degree // 7 - 1)
        if not final and rng.random() < 0.3:  # two eighths
            for half in (0, 1):
                notes.append(
                    Note(
                        times[b] + half * period / 2,
                        gate / 2,
                        mel_pitch + 2 * half,
                        v * (1 - 0.3 * half),
                        "melody",
                    )
                )
        else:
            notes.append(Note(times[b], gate if not final else held, mel_pitch, v, "melody"))
        if percussion and not final:
            if pos[b] == 0:
                hits.append((times[b], "drum", v))
            hits.append((times[b], "tick", v * (1.0 if pos[b] == 0 else 0.6)))

    # Contours at the frame rate.
    num_frames = int(np.ceil(duration_s * frame_rate - 1e-9))
    t = np.arange(num_frames) / frame_rate
    beat_idx = np.clip(np.searchsorted(times, t, side="right") - 1, 0, num_beats - 1)
    loudness = 1.0 - cfg.dynamic_range_db * (1.0 - velocity[beat_idx]) / 50.0  # as analyze: 50 dB range
    articulation = artic[beat_idx]
    active = np.zeros(num_frames, bool)
    for b in np.flatnonzero(sounding[:-1] & sounding[1:]):  # the music goes on between sounding beats
        active[int(times[b] * frame_rate) : int(np.ceil(times[b + 1] * frame_rate))] = True
    onset = np.zeros(num_frames)
    for note in notes:
        lo = int(np.floor(note.onset_s * frame_rate))
        hi = int(np.ceil((note.onset_s + note.gate_s + RELEASE_S) * frame_rate))
        active[max(lo, 0) : max(hi, 0)] = True
        if 0 <= lo < num_frames:
            onset[lo] = max(onset[lo], note.velocity)
    silent = ~active
    loudness = np.where(silent, 0.0, loudness)
    sounding_beats = np.flatnonzero(sounding)
    downbeats = times[sounding_beats][pos[sounding_beats] == 0]
    phrase_starts = downbeats[(bar[sounding_beats][pos[sounding_beats] == 0] % cfg.bars_per_phrase) == 0]
    return Piece(
        duration_s=float(duration_s),
        beats_s=times[sounding_beats],
        beat_in_bar=pos[sounding_beats],
        tempo_bpm=tempi[sounding_beats],
        beats_per_bar=n,
        phrase_starts_s=phrase_starts,
        notes=notes,
        hits=hits,
        loudness=loudness.astype(np.float32),
        onset_strength=onset.astype(np.float32),
        articulation=articulation.astype(np.float32),
        silent=silent,
        frame_rate=float(frame_rate),
        timbre=_draw_timbre(rng),
        excerpt_start_s=pre,
    )


def _draw_timbre(rng: np.random.Generator) -> dict:
    """Per-piece sound: spectral slopes of each voice's wavetable, plucked or sustained, decay times."""
    return {
        voice: {
            "slope": float(rng.uniform(0.8, 2.2)),
            "harmonics": int(rng.integers(3, 9)),
            "plucked": bool(rng.random() < 0.5),
            "decay_s": float(rng.uniform(0.25, 1.0)),
            "attack_s": float(rng.uniform(0.004, 0.03)),
            "level": float(rng.uniform(0.6, 1.0)),
        }
        for voice in ("bass", "chord", "melody")
    }


def _wavetable(slope: float, harmonics: int, rng: np.random.Generator) -> np.ndarray:
    x = np.arange(TABLE_SIZE) / TABLE_SIZE
    k = np.arange(1, harmonics + 1)
    amps = k**-slope
    phases = rng.uniform(0, 2 * np.pi, harmonics)
    table = (amps[:, None] * np.sin(2 * np.pi * k[:, None] * x + phases[:, None])).sum(axis=0)
    return table / np.abs(table).max()


def _gain(velocity: float, range_db: float) -> float:
    return 10.0 ** (-range_db * (1.0 - velocity) / 20.0)


def render(piece: Piece, rng: np.random.Generator, cfg: SynthConfig | None = None) -> np.ndarray:
    """The piece as float32 mono samples at 22050 Hz, peak 0.9 (plus a faint noise floor)."""
    cfg = cfg or SynthConfig()
    sr = SAMPLE_RATE
    total = int(round(piece.duration_s * sr))
    out = np.zeros(total + sr * 3, np.float64)  # room for tails, cut at the end
    # Louder notes are brighter (as played instruments are): each voice crossfades by velocity between a
    # dull soft table and a bright loud one, so dynamics show in the spectrum, not only in the (per-file
    # normalised) level.
    tables = {
        v: [
            _wavetable(p["slope"] + shift, p["harmonics"] + extra, rng)
            for shift, extra in ((0.7, 0), (-0.5, 2))
        ]
        for v, p in piece.timbre.items()
    }
    grid = np.arange(TABLE_SIZE + 1)
    for note in piece.notes:
        p = piece.timbre[note.voice]
        n = int((note.gate_s + 4 * RELEASE_S) * sr)  # silent 4 release times after the gate
        s = int(round(note.onset_s * sr))
        if s >= total or n <= 0:
            continue
        t = np.arange(n) / sr
        f0 = 440.0 * 2.0 ** ((note.midi - 69) / 12)
        phase = (f0 * t + rng.random()) % 1.0 * TABLE_SIZE
        soft, loud = tables[note.voice]
        table = (1.0 - note.velocity) * soft + note.velocity * loud
        wave = np.interp(phase, grid, np.append(table, table[0]))
        env = np.minimum(t / p["attack_s"], 1.0)
        if p["plucked"]:
            env *= np.exp(-t / p["decay_s"])
        env *= np.where(t < note.gate_s, 1.0, np.exp(-(t - note.gate_s) / (RELEASE_S / 3)))
        out[s : s + n] += wave * env * (_gain(note.velocity, cfg.dynamic_range_db) * p["level"] * 0.25)
    for time_s, kind, velocity in piece.hits:
        s = int(round(time_s * sr))
        if s >= total:
            continue
        if kind == "drum":  # a pitch-swept membrane thump
            t = np.arange(int(0.35 * sr)) / sr
            freq = 50.0 + 90.0 * np.exp(-t / 0.04)
            hit = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.12)
        else:  # a bright tick: differentiated noise, decaying fast
            t = np.arange(int(0.06 * sr)) / sr
            hit = np.diff(rng.standard_normal(len(t) + 1)) * 0.5 * np.exp(-t / 0.012)
        out[s : s + len(hit)] += hit * _gain(velocity, cfg.dynamic_range_db) * 0.5
    out = out[:total]
    out *= 0.9 / max(float(np.abs(out).max()), 1e-9)
    out += 1e-4 * rng.standard_normal(total)
    return out.astype(np.float32)
