"""A small procedural composer and synthesiser: music whose beats, metre, tempo, dynamics, articulation and
rests are known exactly, so that conducting motion can be made truly synchronised to it.

A piece is a beat grid (tempo 60-160 BPM, 2, 3 or 4 beats per bar, sometimes a tempo change - abrupt or a
ritardando/accelerando over a phrase), phrases of four bars each with its own dynamic (held or a hairpin) and
articulation, sometimes a rest of a bar or two or an ending with a held chord. Notes: a bass on each downbeat
(sometimes on every beat), chords on the beats, a melody from the key's scale on beats and sometimes on the
half-beat, and optionally percussion (a low drum on downbeats, a tick on every beat). Tones come from a per-piece
wavetable (a few harmonics with a random spectral slope) under a plucked or sustained envelope.

:func:`compose` draws the score, :func:`render` makes the audio and :meth:`Piece.analysis` gives the
:class:`vconductor.conducting.MusicAnalysis` of what was composed (not of an analysis of the audio).
"""

from dataclasses import dataclass, field

import numpy as np

from ..audio import SAMPLE_RATE
from ..conducting import MusicAnalysis
from .options import SynthConfig

METERS = {2: "2/4", 3: "3/4", 4: "4/4"}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 0, 4))  # scale degrees per bar
TABLE_SIZE = 2048
RELEASE_S = 0.08  # sustained notes fade out over this after their gate


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


@dataclass
class _Beats:
    """Every beat of the grid, sounding or not: time, tempo, place in bar and phrase, and what is drawn for it."""

    times: np.ndarray
    tempi: np.ndarray
    beats_per_bar: int
    bars_per_phrase: int
    velocity: np.ndarray | None = None  # 0 .. 1
    articulation: np.ndarray | None = None  # 0 legato .. 1 staccato
    sounding: np.ndarray | None = None  # False inside rests and after an ending
    end_s: float | None = None  # the final chord's release, when the piece ends inside the excerpt

    def __post_init__(self):
        index = np.arange(len(self.times))
        self.position = index % self.beats_per_bar
        self.bar = index // self.beats_per_bar
        self.phrase = self.bar // self.bars_per_phrase


def compose(
    rng: np.random.Generator, seconds: float, cfg: SynthConfig | None = None, frame_rate=30.0
) -> Piece:
    """Draw a piece around an excerpt of `seconds`: the piece spans [0, pre_roll + seconds + post_roll) and the
    excerpt starts at ``piece.excerpt_start_s`` (mid-piece, or in silence before the first downbeat)."""
    cfg = cfg or SynthConfig()
    pre = float(cfg.pre_roll_s)
    duration_s = pre + seconds + cfg.post_roll_s
    beats_per_bar = int(rng.choice(cfg.beats_per_bar))
    intro = rng.random() < cfg.intro_prob
    start = pre + rng.uniform(0.6, 2.0) if intro else rng.uniform(0.0, 0.3)
    times, tempi = _beat_grid(rng, cfg, start, duration_s, beats_per_bar)
    beats = _Beats(times, tempi, beats_per_bar, cfg.bars_per_phrase)
    beats.velocity, beats.articulation = _draw_dynamics(rng, beats)
    beats.sounding, beats.end_s = _draw_silences(rng, beats, cfg, pre, seconds, duration_s)
    notes, hits = _draw_notes(rng, beats, cfg)
    loudness, onset, articulation, silent = _contours(beats, notes, cfg, duration_s, frame_rate)
    sounding = np.flatnonzero(beats.sounding)
    downbeats = sounding[beats.position[sounding] == 0]
    phrase_starts = times[downbeats][beats.bar[downbeats] % cfg.bars_per_phrase == 0]
    return Piece(
        duration_s=float(duration_s),
        beats_s=times[sounding],
        beat_in_bar=beats.position[sounding],
        tempo_bpm=tempi[sounding],
        beats_per_bar=beats_per_bar,
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


def _draw_dynamics(rng: np.random.Generator, beats: _Beats) -> tuple[np.ndarray, np.ndarray]:
    """Velocity and articulation of every beat, drawn per phrase."""
    phrase = beats.phrase
    num_phrases = int(phrase[-1]) + 1
    # Each phrase holds a level or swells/fades to the next phrase's level.
    levels = rng.uniform(0.05, 1.0, num_phrases + 1)
    hairpin = rng.random(num_phrases) < 0.4
    beats_per_phrase = beats.beats_per_bar * beats.bars_per_phrase
    frac = (np.arange(len(beats.times)) % beats_per_phrase) / beats_per_phrase
    velocity = np.where(
        hairpin[phrase], levels[phrase] + (levels[phrase + 1] - levels[phrase]) * frac, levels[phrase]
    )
    # A legato or staccato piece, with phrases leaning either way.
    base_articulation = rng.uniform(0.0, 1.0)
    articulation = np.clip(base_articulation + rng.normal(0.0, 0.2, num_phrases), 0.0, 1.0)[phrase]
    return velocity, articulation


def _draw_silences(
    rng: np.random.Generator, beats: _Beats, cfg: SynthConfig, pre: float, seconds: float, duration_s: float
) -> tuple[np.ndarray, float | None]:
    """Which beats sound (maybe a rest of a bar or two inside the excerpt of `seconds` after `pre`, maybe an
    ending), and the ending's time or None."""
    times, tempi, bar, position = beats.times, beats.tempi, beats.bar, beats.position
    sounding = np.ones(len(times), bool)
    downbeat_bars = bar[position == 0]
    downbeat_times = times[position == 0]

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
        final = int(np.flatnonzero((bar == rng.choice(end_bars)) & (position == 0))[0])
        sounding[final + 1 :] = False  # the final chord on this downbeat, held two beats
        end_s = times[final] + 2 * 60.0 / tempi[final]
    sounding &= times < duration_s
    return sounding, end_s


def _draw_notes(
    rng: np.random.Generator, beats: _Beats, cfg: SynthConfig
) -> tuple[list[Note], list[tuple[float, str, float]]]:
    """Bass, chords and melody on the sounding beats, and the percussion hits."""
    key = int(rng.integers(40, 52))
    scale = np.array(MAJOR if rng.random() < 0.6 else MINOR)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bass_every_beat = rng.random() < 0.3
    notes: list[Note] = []
    hits: list[tuple[float, str, float]] = []
    percussion = rng.random() < cfg.percussion_prob
    melody_degree = int(rng.integers(7, 12))
    for b in np.flatnonzero(beats.sounding):
        onset, period, downbeat = beats.times[b], 60.0 / beats.tempi[b], beats.position[b] == 0
        final = beats.end_s is not None and abs(onset - (beats.end_s - 2 * period)) < 1e-9
        held = 2 * period if final else period
        gate = held * (0.95 - 0.7 * beats.articulation[b])  # staccato notes are short
        velocity = float(beats.velocity[b] * (1.0 if downbeat else 0.8))
        root = progression[int(beats.bar[b]) % len(progression)]
        chord = [scale[(root + i) % 7] + 12 * ((root + i) // 7) for i in (0, 2, 4)]
        if downbeat or bass_every_beat:
            notes.append(Note(onset, gate if not final else held, key - 12 + chord[0], velocity, "bass"))
        for c in chord:
            notes.append(Note(onset, gate, key + 12 + c, 0.6 * velocity, "chord"))
        melody_degree = int(np.clip(melody_degree + rng.integers(-2, 3), 5, 16))
        pitch = key + 24 + scale[melody_degree % 7] + 12 * (melody_degree // 7 - 1)
        if not final and rng.random() < 0.3:  # two eighths
            for half in (0, 1):
                notes.append(
                    Note(
                        onset + half * period / 2,
                        gate / 2,
                        pitch + 2 * half,
                        velocity * (1 - 0.3 * half),
                        "melody",
                    )
                )
        else:
            notes.append(Note(onset, gate if not final else held, pitch, velocity, "melody"))
        if percussion and not final:
            if downbeat:
                hits.append((onset, "drum", velocity))
            hits.append((onset, "tick", velocity * (1.0 if downbeat else 0.6)))
    return notes, hits


def _contours(beats: _Beats, notes: list[Note], cfg: SynthConfig, duration_s: float, frame_rate: float):
    """Per-frame loudness, onset strength, articulation and silence of what was composed."""
    times, sounding = beats.times, beats.sounding
    num_frames = int(np.ceil(duration_s * frame_rate - 1e-9))
    t = np.arange(num_frames) / frame_rate
    beat_idx = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    # As the analysis scales loudness: a 50 dB range.
    loudness = 1.0 - cfg.dynamic_range_db * (1.0 - beats.velocity[beat_idx]) / 50.0
    articulation = beats.articulation[beat_idx]
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
    return np.where(silent, 0.0, loudness), onset, articulation, silent


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
