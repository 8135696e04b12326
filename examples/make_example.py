#!/usr/bin/env python3
"""Render the bundled example piece: the "Ode to Joy" theme from Beethoven's Symphony No. 9.

Everything is synthesised here from the note lists below (the score is public domain; no samples, soundfonts
or recordings are used): bowed strings and winds by additive synthesis (detuned ensemble voices, delayed
vibrato, soft attacks, velocity-dependent brightness), pizzicato basses and timpani by decaying modes, a little
stereo spread and a light convolution reverb with a synthetic impulse response.

The excerpt is bars 1-4 and 9-16 of the theme (with Beethoven's syncopated re-entry into bar 13), in D major,
4/4, at 104 BPM: a piano first phrase (strings), a crescendo through the middle phrase (oboe, horns and a
timpani roll join), a forte last phrase (flute, timpani, basses an octave below), a ritardando over the last
five beats and a fermata on the final chord.

Writes ``ode_to_joy.ogg`` (44.1 kHz stereo Ogg Vorbis) and ``ode_to_joy.json`` (the beat times that were
rendered) into the folder given as the only argument (default: this script's folder). The output is
deterministic: fixed seeds, and the Ogg stream serial number (random in libsndfile) is fixed afterwards.

    python examples/make_example.py [OUT_DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

SR = 44100
SEED = 1824  # year of the first performance
BASENAME = "ode_to_joy"
TITLE = "Ode to Joy (theme from the finale of Symphony No. 9 in D minor, Op. 125)"
COMPOSER = "Ludwig van Beethoven (1770-1827)"

BPM = 104.0
LEAD_IN_S = 0.6  # silence before the first downbeat
BEATS_PER_BAR = 4
# Ritardando: local tempo (BPM) of the beats from bar 11 beat 3 on; every other beat is at BPM.
RIT_BPM = {42: 97.0, 43: 89.0, 44: 81.0, 45: 74.0}
FERMATA_BEAT = 46  # bar 12 beat 3: the final chord, held instead of two beats ...
FERMATA_HOLD_S = 2.2  # ... for this long, then released
FINAL_RELEASE_S = 0.45
TAIL_S = 2.6  # after the release: reverb tail fading out, then about a second of silence
PEAK_DBFS = -1.0
OGG_SERIAL = 0x0DE70A07  # fixed Ogg bitstream serial number (libsndfile picks a random one)

# ---------------------------------------------------------------------------------------------------------
# The score. Beats count from 0 at the first downbeat (bar b starts at beat 4 * (b - 1)); velocities are MIDI
# style 1-127. Bars 1-4 of the theme are bars 1-4 here, bars 9-16 of the theme are bars 5-12 here.
# ---------------------------------------------------------------------------------------------------------

# (pitch, start beat, duration in beats, velocity): first violins; the oboe doubles it from bar 5, the flute
# an octave higher from the syncopated F# that leads into bar 9.
# fmt: off
MELODY = [
    # bar 1 (p)
    ("F#5", 0.0, 1.0, 46), ("F#5", 1.0, 1.0, 48), ("G5", 2.0, 1.0, 50), ("A5", 3.0, 1.0, 53),
    # bar 2
    ("A5", 4.0, 1.0, 54), ("G5", 5.0, 1.0, 52), ("F#5", 6.0, 1.0, 50), ("E5", 7.0, 1.0, 48),
    # bar 3
    ("D5", 8.0, 1.0, 46), ("D5", 9.0, 1.0, 46), ("E5", 10.0, 1.0, 48), ("F#5", 11.0, 1.0, 51),
    # bar 4: half cadence
    ("F#5", 12.0, 1.5, 52), ("E5", 13.5, 0.5, 47), ("E5", 14.0, 2.0, 45),
    # bar 5 (crescendo from here)
    ("E5", 16.0, 1.0, 54), ("E5", 17.0, 1.0, 56), ("F#5", 18.0, 1.0, 59), ("D5", 19.0, 1.0, 60),
    # bar 6
    ("E5", 20.0, 1.0, 63), ("F#5", 21.0, 0.5, 65), ("G5", 21.5, 0.5, 66), ("F#5", 22.0, 1.0, 67),
    ("D5", 23.0, 1.0, 68),
    # bar 7
    ("E5", 24.0, 1.0, 71), ("F#5", 25.0, 0.5, 73), ("G5", 25.5, 0.5, 74), ("F#5", 26.0, 1.0, 76),
    ("E5", 27.0, 1.0, 79),
    # bar 8: the F# of bar 9 enters a beat early, tied over the bar line (Beethoven's syncopation)
    ("D5", 28.0, 1.0, 83), ("E5", 29.0, 1.0, 87), ("A4", 30.0, 1.0, 91), ("F#5", 31.0, 2.0, 100),
    # bar 9 (f)
    ("F#5", 33.0, 1.0, 104), ("G5", 34.0, 1.0, 106), ("A5", 35.0, 1.0, 108),
    # bar 10
    ("A5", 36.0, 1.0, 108), ("G5", 37.0, 1.0, 106), ("F#5", 38.0, 1.0, 104), ("E5", 39.0, 1.0, 102),
    # bar 11 (ritardando from beat 3)
    ("D5", 40.0, 1.0, 102), ("D5", 41.0, 1.0, 102), ("E5", 42.0, 1.0, 104), ("F#5", 43.0, 1.0, 106),
    # bar 12: final cadence, fermata on the last note
    ("E5", 44.0, 1.5, 106), ("D5", 45.5, 0.5, 100), ("D5", 46.0, 2.0, 110),
]

# (chord pitches, start beat, duration in beats, velocity): violas and second violins (horns join in bar 7).
D, A, A7 = ("A3", "D4", "F#4"), ("A3", "C#4", "E4"), ("A3", "C#4", "G4")
G, BM, E = ("B3", "D4", "G4"), ("B3", "D4", "F#4"), ("G#3", "B3", "E4")
CHORDS = [
    (D, 0.0, 4.0, 42),                                                      # bar 1: I
    (A, 4.0, 2.0, 44), (D, 6.0, 1.0, 42), (A, 7.0, 1.0, 41),                # bar 2: V I V
    (D, 8.0, 2.0, 40), (A, 10.0, 1.0, 42), (D, 11.0, 1.0, 44),              # bar 3: I V I
    (D, 12.0, 2.0, 44), (A, 14.0, 2.0, 40),                                 # bar 4: I V (half cadence)
    (A, 16.0, 2.0, 48), (D, 18.0, 2.0, 52),                                 # bar 5: V I
    (A, 20.0, 1.0, 56), (D, 21.0, 2.0, 59), (G, 23.0, 1.0, 61),             # bar 6: V I IV
    (A, 24.0, 1.0, 64), (D, 25.0, 1.0, 67), (BM, 26.0, 1.0, 70), (E, 27.0, 1.0, 73),  # bar 7: V I vi V/V
    (D, 28.0, 1.0, 77), (A, 29.0, 3.0, 84),                                 # bar 8: I6/4 V (half cadence)
    (D, 32.0, 4.0, 100),                                                    # bar 9: I
    (A, 36.0, 2.0, 100), (D, 38.0, 1.0, 98), (A, 39.0, 1.0, 96),            # bar 10: V I V
    (D, 40.0, 2.0, 96), (A, 42.0, 1.0, 98), (D, 43.0, 1.0, 100),            # bar 11: I V I
    (A7, 44.0, 2.0, 100), (D, 46.0, 2.0, 104),                              # bar 12: V7 I (fermata)
]

# (pitch, start beat, duration in beats, velocity): cellos; the double basses double it an octave lower in
# bars 9-12 (before that they play pizzicato downbeats).
BASS = [
    ("D3", 0.0, 2.0, 46), ("D3", 2.0, 2.0, 44),                                             # bar 1
    ("A2", 4.0, 2.0, 46), ("D3", 6.0, 1.0, 44), ("A2", 7.0, 1.0, 43),                       # bar 2
    ("D3", 8.0, 2.0, 42), ("A2", 10.0, 1.0, 44), ("D3", 11.0, 1.0, 46),                     # bar 3
    ("D3", 12.0, 2.0, 46), ("A2", 14.0, 2.0, 42),                                           # bar 4
    ("A2", 16.0, 2.0, 50), ("D3", 18.0, 2.0, 54),                                           # bar 5
    ("A2", 20.0, 1.0, 58), ("F#2", 21.0, 1.0, 60), ("D3", 22.0, 1.0, 62), ("G2", 23.0, 1.0, 63),  # bar 6
    ("A2", 24.0, 1.0, 66), ("F#2", 25.0, 1.0, 68), ("B2", 26.0, 1.0, 71), ("E2", 27.0, 1.0, 74),  # bar 7
    ("A2", 28.0, 4.0, 82),                                                                  # bar 8
    ("D3", 32.0, 2.0, 102), ("D3", 34.0, 2.0, 100),                                         # bar 9
    ("A2", 36.0, 2.0, 100), ("D3", 38.0, 1.0, 98), ("A2", 39.0, 1.0, 96),                   # bar 10
    ("D3", 40.0, 2.0, 98), ("A2", 42.0, 1.0, 100), ("D3", 43.0, 1.0, 102),                  # bar 11
    ("A2", 44.0, 2.0, 102), ("D3", 46.0, 2.0, 106),                                         # bar 12
]

# (pitch, start beat, velocity): double-bass pizzicato (cellos an octave up) on the downbeats of bars 1-8.
PIZZICATO = [
    ("D2", 0.0, 58), ("A1", 4.0, 56), ("D2", 8.0, 54), ("D2", 12.0, 56),
    ("A1", 16.0, 62), ("A1", 20.0, 68), ("A1", 24.0, 76), ("A1", 28.0, 86),
]

# (pitch, start beat, velocity, roll length in beats or 0, roll end velocity): timpani tuned to A2 and D3.
TIMPANI = [
    ("A2", 28.0, 40, 4.0, 92),  # roll through bar 8, crescendo into ...
    ("D3", 32.0, 104, 0.0, 0), ("A2", 36.0, 96, 0.0, 0), ("D3", 40.0, 96, 0.0, 0), ("A2", 44.0, 98, 0.0, 0),
    ("D3", 46.0, 100, 2.0, 58),  # the fermata: a stroke, then a roll dying away
]
# fmt: on

OBOE_FROM_BEAT = 16.0
FLUTE_FROM_BEAT = 31.0  # the syncopated F# that leads into bar 9
HORNS_FROM_BEAT = 24.0

# Stereo placement (-1 left .. +1 right), orchestra-style.
PAN = {
    "violins": -0.45,
    "inner": 0.15,
    "cellos": 0.45,
    "basses": 0.65,
    "oboe": 0.05,
    "flute": -0.15,
    "horns": -0.3,
    "timpani": -0.1,
}


# ---------------------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------------------


def beat_seconds() -> np.ndarray:
    """Time (s) of every integer beat 0..FERMATA_BEAT, ritardando included."""
    durations = [60.0 / RIT_BPM.get(b, BPM) for b in range(FERMATA_BEAT)]
    return LEAD_IN_S + np.concatenate([[0.0], np.cumsum(durations)])


BEAT_S = beat_seconds()
RELEASE_S = BEAT_S[FERMATA_BEAT] + FERMATA_HOLD_S  # when the final chord is let go
TOTAL_S = RELEASE_S + TAIL_S


def beat_time(beat: float) -> float:
    """Seconds at a (fractional) beat; beats under the fermata stretch to FERMATA_HOLD_S."""
    if beat >= FERMATA_BEAT:
        return float(BEAT_S[FERMATA_BEAT] + (beat - FERMATA_BEAT) / 2.0 * FERMATA_HOLD_S)
    return float(np.interp(beat, np.arange(len(BEAT_S)), BEAT_S))


def midi(name: str) -> int:
    """'F#5' -> 78, 'Bb3' -> 58 (C4 = 60)."""
    steps = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    pitch, rest = steps[name[0]], name[1:]
    while rest and rest[0] in "#b":
        pitch += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return pitch + 12 * (int(rest) + 1)


def hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69) / 12.0)


def gain(vel: float) -> float:
    """Velocity to amplitude: 24 dB of range between velocity 0 and 127."""
    return 10.0 ** (-(1.0 - vel / 127.0) * 24.0 / 20.0)


# ---------------------------------------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------------------------------------


def envelope(n_gate: int, n_total: int, attack_s: float, decay_to: float = 0.8, accent: float = 0.0):
    """Raised-cosine attack (overshooting by `accent`, which dies away in ~0.1 s), a gentle decay while the
    note is held, raised-cosine release after the gate."""
    i = np.arange(n_total, dtype=np.float64)
    n_att = max(1, int(attack_s * SR))
    att = 0.5 - 0.5 * np.cos(np.pi * np.clip(i / n_att, 0.0, 1.0))
    att *= 1.0 + accent * np.exp(-np.clip(i - n_att, 0.0, None) / (0.1 * SR))
    held = decay_to ** np.clip((i - n_att) / max(1, n_gate - n_att), 0.0, 1.0)
    rel = 0.5 + 0.5 * np.cos(np.pi * np.clip((i - n_gate) / max(1, n_total - n_gate), 0.0, 1.0))
    return att * held * rel


def vibrato_phase(f0: float, n: int, rng: np.random.Generator, depth_cents: float, detune_cents: float):
    """Running phase (radians) of a fundamental with delayed vibrato and a slow random pitch drift."""
    t = np.arange(n) / SR
    fade_in = np.clip((t - 0.12) / 0.3, 0.0, 1.0)
    rate = 5.4 * (1.0 + 0.06 * rng.standard_normal())
    vib = depth_cents * fade_in * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    drift = 1.5 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + rng.uniform(0, 2 * np.pi))
    freq = f0 * 2.0 ** ((detune_cents + vib + drift) / 1200.0)
    return 2 * np.pi * np.cumsum(freq) / SR


def partial_sum(phase: np.ndarray, amps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros_like(phase)
    for k, a in enumerate(amps, start=1):
        if a > 1e-4:
            out += a * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def string_amps(f0: float, vel: float, darkness: float = 0.0) -> np.ndarray:
    """Sawtooth-like bowed spectrum, low-passed more when soft, with two broad body resonances."""
    v = vel / 127.0
    cutoff = (900.0 + 3300.0 * v) * (1.0 - 0.4 * darkness)
    k = np.arange(1, int(min(10000.0, 4.0 * cutoff, 0.45 * SR) / f0) + 1)
    f = k * f0
    body = (
        1.0
        + 0.9 * np.exp(-((np.log2(f / 450.0) / 0.5) ** 2))
        + 0.6 * np.exp(-((np.log2(f / 2800.0) / 0.6) ** 2))
    )
    return body / k / np.sqrt(1.0 + (f / cutoff) ** 4)


def wind_amps(f0: float, vel: float, kind: str) -> np.ndarray:
    v = vel / 127.0
    k = np.arange(1, int(min(9000.0, 0.45 * SR) / f0) + 1)
    f = k * f0
    if kind == "flute":  # nearly sinusoidal, a little brighter when loud
        a = np.exp(-(k - 1) * (1.3 - 0.5 * v))
    elif kind == "oboe":  # reedy: strong partials around a nasal formant near 1.3 kHz
        a = (0.25 + np.exp(-(((f - 1300.0) / 800.0) ** 2))) / k**0.6 * np.exp(-f / (2500.0 + 2500.0 * v))
    else:  # horn: round, brightening steeply with dynamics
        a = k**-0.3 * np.exp(-f / (300.0 + 1100.0 * v**1.5))
    return a / np.sqrt(np.sum(a**2))


class Mixer:
    def __init__(self, total_s: float):
        self.out = np.zeros((2, int(round(total_s * SR))))

    def add(self, start_s: float, mono: np.ndarray, pan: float) -> None:
        s = int(round(start_s * SR))
        n = min(len(mono), self.out.shape[1] - s)
        theta = (np.clip(pan, -1.0, 1.0) + 1.0) * np.pi / 4  # constant-power pan
        self.out[0, s : s + n] += np.cos(theta) * mono[:n]
        self.out[1, s : s + n] += np.sin(theta) * mono[:n]


def note_span(start: float, dur: float, gap_s: float) -> tuple[float, float]:
    """(onset, gate) in seconds; a short gap before the next note re-articulates repeated pitches."""
    t0, t1 = beat_time(start), beat_time(start + dur)
    return t0, max(0.05, t1 - t0 - gap_s)


def bowed(
    mix,
    pitch,
    start,
    dur,
    vel,
    rng,
    *,
    pan,
    width,
    voices=3,
    level=1.0,
    attack_s=0.06,
    darkness=0.0,
    bite=0.0,
):
    """A string section note: detuned, independently vibrating voices spread across the stereo image.
    `bite` > 0 articulates the note: a short gap before it, an accented attack and a scrape of bow noise."""
    t0, gate = note_span(start, dur, gap_s=0.035 + 0.04 * bite)
    release = FINAL_RELEASE_S if start >= FERMATA_BEAT else 0.16 - 0.07 * bite
    n_gate, n = int(gate * SR), int((gate + release) * SR)
    f0 = hz(midi(pitch))
    env = envelope(n_gate, n, attack_s, accent=0.35 * bite) * gain(vel) * level / np.sqrt(voices)
    amps = string_amps(f0, vel, darkness)
    for v in range(voices):
        detune = (v - (voices - 1) / 2) * 7.0 + 2.0 * rng.standard_normal()
        phase = vibrato_phase(f0, n, rng, depth_cents=14.0, detune_cents=detune)
        voice_pan = pan + width * ((v / (voices - 1) - 0.5) * 2 if voices > 1 else 0.0)
        mix.add(t0 + 0.004 * v, env * partial_sum(phase, amps, rng) * 0.35, voice_pan)
    if bite > 0:
        n_scrape = int(0.12 * SR)
        t = np.arange(n_scrape) / SR
        sos = signal.butter(2, [1200.0, 6000.0], btype="bandpass", fs=SR, output="sos")
        scrape = (
            signal.sosfilt(sos, rng.standard_normal(n_scrape)) * np.clip(t / 0.004, 0, 1) * np.exp(-t / 0.03)
        )
        mix.add(t0, scrape * 0.06 * bite * gain(vel) * level, pan)


def wind(mix, pitch, start, dur, vel, rng, *, kind, pan, level=1.0, voices=1, transpose=0):
    """A flute, oboe or horn note (voices > 1: a section, slightly detuned)."""
    t0, gate = note_span(start, dur, gap_s=0.03)
    release = FINAL_RELEASE_S if start >= FERMATA_BEAT else 0.12
    n_gate, n = int(gate * SR), int((gate + release) * SR)
    f0 = hz(midi(pitch) + transpose)
    attack = {"flute": 0.05, "oboe": 0.04, "horn": 0.07}[kind]
    env = envelope(n_gate, n, attack, decay_to=0.9) * gain(vel) * level / np.sqrt(voices)
    amps = wind_amps(f0, vel, kind)
    depth = {"flute": 9.0, "oboe": 10.0, "horn": 2.0}[kind]
    for v in range(voices):
        detune = (v - (voices - 1) / 2) * 5.0
        phase = vibrato_phase(f0, n, rng, depth_cents=depth, detune_cents=detune)
        sig = partial_sum(phase, amps, rng)
        if kind == "flute":  # a breath of air in the attack
            sos = signal.butter(2, [1500.0, 7000.0], btype="bandpass", fs=SR, output="sos")
            air = signal.sosfilt(sos, rng.standard_normal(n))
            sig += 0.08 * air * (0.3 + 0.7 * np.exp(-np.arange(n) / (0.08 * SR)))
        mix.add(t0, env * sig * 0.3, pan + 0.08 * (v - (voices - 1) / 2))


def pizzicato(mix, pitch, start, vel, rng, *, pan):
    """Plucked double bass (with the cello an octave above, softer): harmonic modes, higher ones die faster."""
    t0 = beat_time(start)
    n = int(1.6 * SR)
    t = np.arange(n) / SR
    sig = np.zeros(n)
    for octave, lvl in ((0, 1.0), (12, 0.45)):
        f0 = hz(midi(pitch) + octave)
        for k in range(1, int(4000.0 / f0) + 1):
            a = abs(np.sin(np.pi * k * 0.22)) / k**1.1
            tau = 0.9 / (1.0 + 0.45 * (k - 1))
            fk = k * f0 * np.sqrt(1.0 + 1e-4 * k * k)
            sig += lvl * a * np.exp(-t / tau) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
    sig *= np.clip(t / 0.004, 0.0, 1.0) * gain(vel) * 0.35
    mix.add(t0, sig, pan)


def timpani_stroke(f0: float, vel: float, rng: np.random.Generator, length_s: float = 2.2) -> np.ndarray:
    """One soft-mallet stroke: inharmonic membrane modes with a brief pitch glide, plus a felt thump."""
    n = int(length_s * SR)
    t = np.arange(n) / SR
    v = vel / 127.0
    ratios = (1.0, 1.504, 1.742, 2.0, 2.245, 2.494, 2.8)
    amps = (1.0, 0.55, 0.25, 0.4, 0.2, 0.18, 0.1)
    taus = (1.6, 1.0, 0.55, 0.7, 0.45, 0.4, 0.3)
    glide = 1.0 + 0.015 * np.exp(-t / 0.05)
    sig = np.zeros(n)
    for i, (r, a, tau) in enumerate(zip(ratios, amps, taus, strict=True)):
        bright = 1.0 if i == 0 else 0.35 + 0.65 * v
        phase = 2 * np.pi * np.cumsum(f0 * r * glide) / SR + rng.uniform(0, 2 * np.pi)
        sig += a * bright * np.exp(-t / tau) * np.sin(phase)
    sos = signal.butter(2, 300.0, fs=SR, output="sos")
    sig += 2.0 * signal.sosfilt(sos, rng.standard_normal(n)) * np.exp(-t / 0.025)
    return sig * np.clip(t / 0.005, 0.0, 1.0) * gain(vel)


def timpani(mix, pitch, start, vel, roll_beats, roll_end_vel, rng, *, pan):
    f0 = hz(midi(pitch))
    t0 = beat_time(start)
    if roll_beats <= 0:
        mix.add(t0, timpani_stroke(f0, vel, rng) * 0.55, pan)
        return
    t_end = beat_time(start + roll_beats)
    if start >= FERMATA_BEAT:
        mix.add(t0, timpani_stroke(f0, vel, rng) * 0.55, pan)  # the fermata's opening stroke
        t0 += 0.12
        vel = min(vel, roll_end_vel + 20)
    strokes = np.arange(t0, t_end - 0.02, 1.0 / 13.0)
    for j, ts in enumerate(strokes):
        frac = j / max(1, len(strokes) - 1)
        sv = (vel + (roll_end_vel - vel) * frac) * (1.0 + 0.06 * rng.standard_normal())
        jitter = 0.006 * rng.standard_normal()
        mix.add(max(0.0, ts + jitter), timpani_stroke(f0, sv, rng, 1.4) * 0.22, pan + 0.1 * (-1) ** j)


def reverb(dry: np.ndarray, rng: np.random.Generator, t60: float = 1.5, wet: float = 0.22) -> np.ndarray:
    """Convolution with a synthetic hall: decorrelated exponentially decaying noise per channel, darker late."""
    n = int(t60 * 1.1 * SR)
    t = np.arange(n) / SR
    bright_sos = signal.butter(2, 7000.0, fs=SR, output="sos")
    dark_sos = signal.butter(2, 1800.0, fs=SR, output="sos")
    out = np.empty_like(dry)
    for ch in range(dry.shape[0]):
        noise = rng.standard_normal(n)
        mix = np.exp(-t / 0.25)
        ir = (mix * signal.sosfilt(bright_sos, noise) + (1 - mix) * signal.sosfilt(dark_sos, noise)) * np.exp(
            -6.91 * t / t60
        )
        ir[: int(0.018 * SR)] = 0.0  # pre-delay
        ir /= np.sqrt(np.sum(ir**2))
        out[ch] = dry[ch] + wet * signal.fftconvolve(dry[ch], ir)[: dry.shape[1]]
    return out


def render() -> np.ndarray:
    """The whole piece as float32 (n, 2), peak at PEAK_DBFS."""
    mix = Mixer(TOTAL_S)

    def rng(layer: int, index: int) -> np.random.Generator:
        return np.random.default_rng([SEED, layer, index])

    for i, (p, s, d, v) in enumerate(MELODY):
        bowed(mix, p, s, d, v, rng(1, i), pan=PAN["violins"], width=0.2, voices=4, attack_s=0.045, bite=1.0)
        if s >= OBOE_FROM_BEAT:
            wind(mix, p, s, d, v - 6, rng(2, i), kind="oboe", pan=PAN["oboe"], level=0.55)
        if s >= FLUTE_FROM_BEAT:
            wind(mix, p, s, d, v - 4, rng(3, i), kind="flute", pan=PAN["flute"], level=0.45, transpose=12)
    for i, (chord, s, d, v) in enumerate(CHORDS):
        for j, p in enumerate(chord):
            bowed(mix, p, s, d, v, rng(4, 10 * i + j), pan=PAN["inner"], width=0.3, level=0.42)
            if s >= HORNS_FROM_BEAT:
                wind(
                    mix,
                    p,
                    s,
                    d,
                    v - 6,
                    rng(5, 10 * i + j),
                    kind="horn",
                    pan=PAN["horns"],
                    level=0.42,
                    voices=2,
                )
    for i, (p, s, d, v) in enumerate(BASS):
        bowed(
            mix, p, s, d, v, rng(6, i), pan=PAN["cellos"], width=0.12, level=0.55, attack_s=0.06, darkness=0.5
        )
        if s >= 32.0:  # double basses, arco, an octave lower in the forte phrase
            low = f"{p[:-1]}{int(p[-1]) - 1}"
            bowed(
                mix,
                low,
                s,
                d,
                v - 8,
                rng(7, i),
                pan=PAN["basses"],
                width=0.08,
                level=0.6,
                attack_s=0.08,
                darkness=0.8,
            )
    for i, (p, s, v) in enumerate(PIZZICATO):
        pizzicato(mix, p, s, v, rng(8, i), pan=PAN["basses"])
    for i, (p, s, v, roll, v_end) in enumerate(TIMPANI):
        timpani(mix, p, s, v, roll, v_end, rng(9, i), pan=PAN["timpani"])

    out = reverb(mix.out, rng(10, 0))
    # Fade the reverb tail out so that the last second is silent.
    t = np.arange(out.shape[1]) / SR
    fade = np.clip((t - (RELEASE_S + 0.4)) / 1.0, 0.0, 1.0)
    out *= 0.5 + 0.5 * np.cos(np.pi * fade)
    out *= 10.0 ** (PEAK_DBFS / 20.0) / np.max(np.abs(out))
    return out.T.astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


def fix_ogg_serial(data: bytes, serial: int = OGG_SERIAL) -> bytes:
    """Give every Ogg page the same fixed stream serial number and recompute the page checksums."""
    table = _ogg_crc_table()
    buf = bytearray(data)
    pos = 0
    while pos < len(buf):
        if buf[pos : pos + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {pos}")
        n_seg = buf[pos + 26]
        size = 27 + n_seg + sum(buf[pos + 27 : pos + 27 + n_seg])
        buf[pos + 14 : pos + 18] = serial.to_bytes(4, "little")
        buf[pos + 22 : pos + 26] = b"\0\0\0\0"
        crc = 0
        for byte in buf[pos : pos + size]:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
        buf[pos + 22 : pos + 26] = crc.to_bytes(4, "little")
        pos += size
    return bytes(buf)


def ground_truth(duration_s: float) -> dict:
    beats = [round(float(b), 4) for b in BEAT_S]
    tempo_map = [[beats[0], BPM]] + [[beats[b], bpm] for b, bpm in sorted(RIT_BPM.items())]
    bar_names = [f"bar {b // BEATS_PER_BAR + 1} beat {b % BEATS_PER_BAR + 1}" for b in (0, 16, 32, 42, 46)]
    return {
        "title": TITLE,
        "composer": COMPOSER,
        "source": "rendered by examples/make_example.py",
        "sample_rate": SR,
        "channels": 2,
        "duration_s": round(duration_s, 4),
        "key": "D major",
        "meter": "4/4",
        "excerpt": "bars 1-4 and 9-16 of the theme (12 bars here), Beethoven's syncopated re-entry into bar 13",
        "tempo_map_bpm": tempo_map,
        "beats_s": beats,
        "downbeats_s": beats[::BEATS_PER_BAR],
        "fermata_s": [beats[FERMATA_BEAT], round(RELEASE_S, 4)],
        "dynamics": [
            [beats[0], "p", bar_names[0]],
            [beats[16], "crescendo", bar_names[1]],
            [beats[32], "f", bar_names[2]],
            [beats[42], "ritardando", bar_names[3]],
            [beats[46], "fermata", bar_names[4]],
        ],
        "notes": {
            "beats_s": "every beat from the first downbeat to the fermata chord (bar 12 beat 3); "
            "the fermata holds instead of beat 4",
            "tempo_map_bpm": "[time_s, bpm]: the tempo from that beat until the next entry (local tempo "
            "of each beat of the ritardando)",
        },
    }


def compact_json(obj: dict) -> str:
    """Indented JSON with every innermost list (numbers, short pairs) kept on one line."""
    text = json.dumps(obj, indent=2)
    inner_list = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")
    return (
        inner_list.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",\n")) + "]", text)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    audio = render()
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 2, format="OGG", subtype="VORBIS") as f:
        f.title = "Ode to Joy"
        f.artist = COMPOSER
        f.comment = "rendered by examples/make_example.py"
        f.write(audio)
    ogg_path = args.out_dir / f"{BASENAME}.ogg"
    ogg_path.write_bytes(fix_ogg_serial(buf.getvalue()))
    duration = len(audio) / SR

    json_path = args.out_dir / f"{BASENAME}.json"
    json_path.write_text(compact_json(ground_truth(duration)))

    for path in (ogg_path, json_path):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"duration {duration:.2f} s, {SR} Hz stereo, {len(BEAT_S)} beats, fermata at {BEAT_S[-1]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
