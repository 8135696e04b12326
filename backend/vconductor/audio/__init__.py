"""Audio in: any supported file or sample array decoded to mono float32 at 22050 Hz with its limits checked,
and the official mel features (docs/official-model.md#audio-features, docs/input-limits.md).

- ``samples``: the Audio type, its errors and the checks every decoded block passes (rate, values, length);
- ``decode``: ``load_audio`` (libsndfile, else ffmpeg), librosa-equivalent decoding and resampling;
- ``ffmpeg``: streaming decoding through ffmpeg for what libsndfile cannot read;
- ``features``: the mel spectrogram and the official 90 Hz features.
"""

from .decode import load_audio
from .features import (
    AMIN,
    FILTERBANK_FILE,
    HOP,
    N_FFT,
    N_MELS,
    TOP_DB,
    filterbank,
    mel_features,
    mel_frames_for,
    mel_power,
    resize_time_linear,
)
from .ffmpeg import ffmpeg_executable
from .samples import MAX_SAMPLE_MAGNITUDE, SAMPLE_RATE, SILENCE_PEAK, Audio, AudioError, AudioTooLong

__all__ = [
    "AMIN",
    "FILTERBANK_FILE",
    "HOP",
    "MAX_SAMPLE_MAGNITUDE",
    "N_FFT",
    "N_MELS",
    "SAMPLE_RATE",
    "SILENCE_PEAK",
    "TOP_DB",
    "Audio",
    "AudioError",
    "AudioTooLong",
    "ffmpeg_executable",
    "filterbank",
    "load_audio",
    "mel_features",
    "mel_frames_for",
    "mel_power",
    "resize_time_linear",
]
