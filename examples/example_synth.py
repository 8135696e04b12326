"""Instrument synthesis for the bundled example: no samples, soundfonts or recordings, only numpy and scipy.

Bowed strings and winds are additive (detuned ensemble voices, delayed vibrato, soft attacks, velocity-dependent
brightness), pizzicato basses and timpani are decaying modes, and a light convolution reverb with a synthetic
impulse response puts them in a hall. Every note takes its own random generator, so the output is deterministic.
"""

from __future__ import annotations

import numpy as np
from example_score import FERMATA_BEAT, FINAL_RELEASE_S, beat_time, midi
from scipy import signal

SR = 44100


def hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69) / 12.0)


def gain(vel: float) -> float:
    """Velocity to amplitude: 24 dB of range between velocity 0 and 127."""
    return 10.0 ** (-(1.0 - vel / 127.0) * 24.0 / 20.0)


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
    mix: Mixer,
    pitch: str,
    start: float,
    dur: float,
    vel: float,
    rng: np.random.Generator,
    *,
    pan: float,
    width: float,
    voices: int = 3,
    level: float = 1.0,
    attack_s: float = 0.06,
    darkness: float = 0.0,
    bite: float = 0.0,
) -> None:
    """A string section note: detuned, independently vibrating voices spread across the stereo image.
    `bite` > 0 articulates the note: a short gap before it, an accented attack and a scrape of bow noise."""
    t0, gate = note_span(start, dur, gap_s=0.035 + 0.04 * bite)
    release = FINAL_RELEASE_S if start >= FERMATA_BEAT else 0.16 - 0.07 * bite
    n_gate, n = int(gate * SR), int((gate + release) * SR)
    f0 = hz(midi(pitch))
    env = envelope(n_gate, n, attack_s, accent=0.35 * bite) * gain(vel) * level / np.sqrt(voices)
    amps = string_amps(f0, vel, darkness)
    for voice in range(voices):
        detune = (voice - (voices - 1) / 2) * 7.0 + 2.0 * rng.standard_normal()
        phase = vibrato_phase(f0, n, rng, depth_cents=14.0, detune_cents=detune)
        voice_pan = pan + width * ((voice / (voices - 1) - 0.5) * 2 if voices > 1 else 0.0)
        mix.add(t0 + 0.004 * voice, env * partial_sum(phase, amps, rng) * 0.35, voice_pan)
    if bite > 0:
        mix.add(t0, bow_scrape(rng) * 0.06 * bite * gain(vel) * level, pan)


def bow_scrape(rng: np.random.Generator) -> np.ndarray:
    """The noise of the bow biting into the string: 0.12 s of band-passed noise with a fast decay."""
    n_scrape = int(0.12 * SR)
    t = np.arange(n_scrape) / SR
    sos = signal.butter(2, [1200.0, 6000.0], btype="bandpass", fs=SR, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(n_scrape)) * np.clip(t / 0.004, 0, 1) * np.exp(-t / 0.03)


def wind(
    mix: Mixer,
    pitch: str,
    start: float,
    dur: float,
    vel: float,
    rng: np.random.Generator,
    *,
    kind: str,
    pan: float,
    level: float = 1.0,
    voices: int = 1,
    transpose: int = 0,
) -> None:
    """A flute, oboe or horn note (voices > 1: a section, slightly detuned)."""
    t0, gate = note_span(start, dur, gap_s=0.03)
    release = FINAL_RELEASE_S if start >= FERMATA_BEAT else 0.12
    n_gate, n = int(gate * SR), int((gate + release) * SR)
    f0 = hz(midi(pitch) + transpose)
    attack = {"flute": 0.05, "oboe": 0.04, "horn": 0.07}[kind]
    env = envelope(n_gate, n, attack, decay_to=0.9) * gain(vel) * level / np.sqrt(voices)
    amps = wind_amps(f0, vel, kind)
    depth = {"flute": 9.0, "oboe": 10.0, "horn": 2.0}[kind]
    for voice in range(voices):
        detune = (voice - (voices - 1) / 2) * 5.0
        phase = vibrato_phase(f0, n, rng, depth_cents=depth, detune_cents=detune)
        sig = partial_sum(phase, amps, rng)
        if kind == "flute":  # a breath of air in the attack
            sos = signal.butter(2, [1500.0, 7000.0], btype="bandpass", fs=SR, output="sos")
            air = signal.sosfilt(sos, rng.standard_normal(n))
            sig += 0.08 * air * (0.3 + 0.7 * np.exp(-np.arange(n) / (0.08 * SR)))
        mix.add(t0, env * sig * 0.3, pan + 0.08 * (voice - (voices - 1) / 2))


def pizzicato(
    mix: Mixer, pitch: str, start: float, vel: float, rng: np.random.Generator, *, pan: float
) -> None:
    """Plucked double bass (with the cello an octave above, softer): harmonic modes, higher ones die faster."""
    t0 = beat_time(start)
    n = int(1.6 * SR)
    t = np.arange(n) / SR
    sig = np.zeros(n)
    for octave, octave_level in ((0, 1.0), (12, 0.45)):
        f0 = hz(midi(pitch) + octave)
        for k in range(1, int(4000.0 / f0) + 1):
            amp = abs(np.sin(np.pi * k * 0.22)) / k**1.1  # plucked at 0.22 of the string length
            tau = 0.9 / (1.0 + 0.45 * (k - 1))
            fk = k * f0 * np.sqrt(1.0 + 1e-4 * k * k)  # a stiff string's partials run sharp
            sig += (
                octave_level * amp * np.exp(-t / tau) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
            )
    sig *= np.clip(t / 0.004, 0.0, 1.0) * gain(vel) * 0.35
    mix.add(t0, sig, pan)


def timpani_stroke(f0: float, vel: float, rng: np.random.Generator, length_s: float = 2.2) -> np.ndarray:
    """One soft-mallet stroke: inharmonic membrane modes with a brief pitch glide, plus a felt thump."""
    n = int(length_s * SR)
    t = np.arange(n) / SR
    loudness = vel / 127.0
    ratios = (1.0, 1.504, 1.742, 2.0, 2.245, 2.494, 2.8)
    amps = (1.0, 0.55, 0.25, 0.4, 0.2, 0.18, 0.1)
    taus = (1.6, 1.0, 0.55, 0.7, 0.45, 0.4, 0.3)
    glide = 1.0 + 0.015 * np.exp(-t / 0.05)
    sig = np.zeros(n)
    for i, (ratio, amp, tau) in enumerate(zip(ratios, amps, taus, strict=True)):
        bright = 1.0 if i == 0 else 0.35 + 0.65 * loudness
        phase = 2 * np.pi * np.cumsum(f0 * ratio * glide) / SR + rng.uniform(0, 2 * np.pi)
        sig += amp * bright * np.exp(-t / tau) * np.sin(phase)
    sos = signal.butter(2, 300.0, fs=SR, output="sos")
    sig += 2.0 * signal.sosfilt(sos, rng.standard_normal(n)) * np.exp(-t / 0.025)
    return sig * np.clip(t / 0.005, 0.0, 1.0) * gain(vel)


def timpani(
    mix: Mixer,
    pitch: str,
    start: float,
    vel: float,
    roll_beats: float,
    roll_end_vel: float,
    rng: np.random.Generator,
    *,
    pan: float,
) -> None:
    """A single stroke, or a roll of 13 strokes a second from `vel` to `roll_end_vel` (the fermata's starts with
    a stroke)."""
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
    for j, stroke_s in enumerate(strokes):
        frac = j / max(1, len(strokes) - 1)
        stroke_vel = (vel + (roll_end_vel - vel) * frac) * (1.0 + 0.06 * rng.standard_normal())
        jitter = 0.006 * rng.standard_normal()
        stroke = timpani_stroke(f0, stroke_vel, rng, 1.4) * 0.22
        mix.add(max(0.0, stroke_s + jitter), stroke, pan + 0.1 * (-1) ** j)  # alternating hands


def reverb(dry: np.ndarray, rng: np.random.Generator, t60: float = 1.5, wet: float = 0.22) -> np.ndarray:
    """Convolution with a synthetic hall: decorrelated exponentially decaying noise per channel, darker late."""
    n = int(t60 * 1.1 * SR)
    t = np.arange(n) / SR
    bright_sos = signal.butter(2, 7000.0, fs=SR, output="sos")
    dark_sos = signal.butter(2, 1800.0, fs=SR, output="sos")
    out = np.empty_like(dry)
    for channel in range(dry.shape[0]):
        noise = rng.standard_normal(n)
        early = np.exp(-t / 0.25)  # the bright share of the response
        coloured = early * signal.sosfilt(bright_sos, noise) + (1 - early) * signal.sosfilt(dark_sos, noise)
        ir = coloured * np.exp(-6.91 * t / t60)
        ir[: int(0.018 * SR)] = 0.0  # pre-delay
        ir /= np.sqrt(np.sum(ir**2))
        out[channel] = dry[channel] + wet * signal.fftconvolve(dry[channel], ir)[: dry.shape[1]]
    return out
