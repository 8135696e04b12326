"""Audio in: any supported file or sample array decoded to mono float32 at 22050 Hz with its limits checked,
and the official mel features (docs/official-model.md#audio-features, docs/input-limits.md).

- ``samples``: the Audio type, its errors and the checks every decoded block passes (rate, values, length);
- ``decode``: ``load_audio`` (libsndfile, else ffmpeg), librosa-equivalent decoding and resampling;
- ``ffmpeg``: streaming decoding through ffmpeg for what libsndfile cannot read;
- ``spectrogram``: the log-mel spectrogram and levels, computed while decoding (bounded memory);
- ``frame_store``: where a spectrogram's frames live (RAM, or a scratch file for long pieces);
- ``features``: the official 90 Hz features, window by window.
"""

from .decode import decode_into, load_audio
from .features import MelFeatures, mel_features, mel_frames_for, official_features, resize_time_linear
from .ffmpeg import ffmpeg_executable
from .samples import MAX_SAMPLE_MAGNITUDE, SAMPLE_RATE, SILENCE_PEAK, Audio, AudioError, AudioTooLong
from .spectrogram import (
    AMIN,
    FILTERBANK_FILE,
    HOP,
    N_FFT,
    N_MELS,
    TOP_DB,
    CropOutside,
    Spectrogram,
    audio_spectrogram,
    filterbank,
    mel_power,
)

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
    "CropOutside",
    "MelFeatures",
    "Spectrogram",
    "audio_spectrogram",
    "decode_into",
    "official_features",
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
