"""Augmentations drawn per render, so the tracker hears rooms, noise, levels and codecs and not one clean synth.

Every draw is recorded (the sample's JSON) and none moves the audio in time: labels stay exact. The codec round
trip measures and undoes any delay the encoder adds.
"""

import subprocess

import numpy as np
from scipy.signal import correlate, fftconvolve

from ..audio import SAMPLE_RATE, ffmpeg_executable

# encoder, container, bitrates (kbit/s); libvorbis refuses more than about 80k for 22050 Hz mono
CODECS = {"mp3": ("libmp3lame", "mp3", (48, 64, 96, 128, 160)), "ogg": ("libvorbis", "ogg", (32, 48, 64, 80))}
MAX_CODEC_SHIFT_S = 0.2  # a larger measured delay means the measurement failed: leave the audio unshifted


def reverb(audio: np.ndarray, rng, params: dict) -> np.ndarray:
    """A synthetic room: the dry signal plus its convolution with exponentially decaying noise."""
    rt60, wet = rng.uniform(0.2, 2.0), rng.uniform(0.1, 0.5)
    predelay = int(rng.uniform(0.0, 0.02) * SAMPLE_RATE)
    t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    impulse = np.concatenate([np.zeros(predelay), rng.standard_normal(len(t)) * np.exp(-6.91 * t / rt60)])
    tail = fftconvolve(audio, impulse)[: len(audio)]
    tail *= _rms(audio) / max(_rms(tail), 1e-12)
    params["reverb"] = {"rt60_s": round(float(rt60), 3), "wet": round(float(wet), 3)}
    return ((1 - wet) * audio + wet * tail).astype(np.float32)


def noise(audio: np.ndarray, rng, params: dict) -> np.ndarray:
    """White or pink noise at a random signal-to-noise ratio."""
    snr_db = rng.uniform(15.0, 45.0)
    colour = str(rng.choice(["white", "pink"]))
    hiss = rng.standard_normal(len(audio))
    if colour == "pink":  # 1/f power: scale the spectrum by 1/sqrt(f)
        spectrum = np.fft.rfft(hiss)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        hiss = np.fft.irfft(spectrum, len(audio))
    hiss *= _rms(audio) / max(_rms(hiss), 1e-12) * 10 ** (-snr_db / 20)
    params["noise"] = {"snr_db": round(float(snr_db), 2), "colour": colour}
    return (audio + hiss).astype(np.float32)


def codec_round_trip(audio: np.ndarray, codec: str, bitrate_k: int) -> np.ndarray:
    """Encode with ffmpeg (mp3 or ogg) and decode back to 22050 Hz mono, aligned to the input."""
    exe = ffmpeg_executable()
    if exe is None:
        raise RuntimeError("ffmpeg is not available (pip install imageio-ffmpeg)")
    encoder, container, _ = CODECS[codec]
    raw = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1"]
    encode = [exe, "-v", "error", *raw, "-i", "pipe:0", "-c:a", encoder, "-b:a", f"{bitrate_k}k"]
    encoded = subprocess.run(
        [*encode, "-f", container, "pipe:1"],
        input=audio.astype("<f4").tobytes(),
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    decode = [exe, "-v", "error", "-i", "pipe:0", *raw, "pipe:1"]
    decoded = subprocess.run(decode, input=encoded, capture_output=True, check=True, timeout=300).stdout
    out = np.frombuffer(decoded, "<f4").astype(np.float32)
    return _aligned(out, audio)


def _aligned(out: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`out` shifted to line up with `reference` (encoder padding removed) and cut or padded to its length."""
    span = min(len(reference), len(out), 10 * SAMPLE_RATE)
    lags = np.arange(-span + 1, span)
    corr = correlate(out[:span], reference[:span], mode="full", method="fft")
    window = np.abs(lags) <= MAX_CODEC_SHIFT_S * SAMPLE_RATE
    shift = int(lags[window][np.argmax(corr[window])]) if span else 0
    out = out[shift:] if shift > 0 else np.concatenate([np.zeros(-shift, np.float32), out])
    return np.pad(out[: len(reference)], (0, max(0, len(reference) - len(out))))


def augment(audio: np.ndarray, rng) -> tuple[np.ndarray, dict]:
    """Reverb (often), noise (often), a codec round trip (sometimes), then a random level; with what was drawn."""
    params: dict = {}
    if rng.random() < 0.5:
        audio = reverb(audio, rng, params)
    if rng.random() < 0.6:
        audio = noise(audio, rng, params)
    if rng.random() < 0.3:
        codec = str(rng.choice(list(CODECS)))
        bitrate = int(rng.choice(CODECS[codec][2]))
        audio = codec_round_trip(audio, codec, bitrate)
        params["codec"] = {"format": codec, "bitrate_k": bitrate}
    peak_db = rng.uniform(-18.0, -1.0)
    audio = audio * (10 ** (peak_db / 20) / max(float(np.max(np.abs(audio))), 1e-9))
    params["peak_dbfs"] = round(float(peak_db), 2)
    return audio.astype(np.float32), params


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
