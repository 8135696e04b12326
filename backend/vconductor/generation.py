"""Seamless generation of a whole piece of any length with the M2S-GAN generator.

The official script cuts music into independent 60 s chunks (the motion jumps every minute), leaves the tail
under a second (or under 5 s) as zeros and stops at 60 minutes. Here the result equals one full-length forward
pass of the generator over the whole piece, computed in windows so memory stays bounded:

1. music features: the music encoder's receptive field is about +-20 mel frames, so windows with
   ``MUSIC_CONTEXT`` extra mel frames each side, starting on multiples of 3 (its time stride), give exactly the
   full-length features;
2. noise features: one 8-d vector per second for the whole piece (``seed``), upsampled once (cheap);
3. decoder: its receptive field is +-258 frames (8.6 s), so windows with 10 s of context each side give exactly
   the full-length output.
Windows touching the ends of the piece see its true ends, so the reflect padding there is the full pass's too.
The piece gets ceil(duration * 30) frames; the few mel frames missing for the last motion frame repeat the last
mel frame (at most 3 frames, 33 ms).
"""

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .models import Generator, resolve_device
from .models.generator import DECODER_RADIUS, NOISE_DIM
from .progress import Progress
from .skeleton import FPS, MEL_FRAMES_PER_MOTION_FRAME, MEL_RATE

MUSIC_CONTEXT = 30  # mel frames each side of a music window; the encoder needs about 20


class GenerationCancelled(Exception):
    """Raised between windows when the caller's cancel check returns True."""


@dataclass
class GenerationConfig:
    """Speed and memory settings. Windowing never changes the result; TF32 changes it by ~1e-3."""

    music_window_s: int | None = None  # None: 10 s on CPU (cache-friendly), 60 s on CUDA
    decoder_window_s: int = 60
    decoder_context_s: int = 10
    fused_cpu_encoder: bool = True  # oneDNN-fused copy of the music encoder on CPU (checked against eager)
    # TF32 convolutions on CUDA: faster, but ~1e-3 away from the official fp32 outputs
    allow_tf32: bool = False

    def __post_init__(self):
        if self.decoder_context_s * FPS <= DECODER_RADIUS:
            raise ValueError(
                f"decoder_context_s must exceed the decoder's {DECODER_RADIUS / FPS:.1f} s radius"
            )


def sample_noise(seconds: int, seed: int) -> torch.Tensor:
    """Per-second noise (1, seconds, 8), N(0, 1), from a private CPU generator: same values on every device."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, seconds, NOISE_DIM, generator=gen)


def fit_mel(mel: np.ndarray, num_frames: int) -> np.ndarray:
    """Mel (T, 128) padded with its last frame (or cut) to exactly 3 * num_frames rows."""
    need = num_frames * MEL_FRAMES_PER_MOTION_FRAME
    if len(mel) < need:
        mel = np.concatenate([mel, np.repeat(mel[-1:], need - len(mel), axis=0)])
    return np.ascontiguousarray(mel[:need], dtype=np.float32)


def mel_window(mel, start: int, stop: int) -> torch.Tensor:
    """Rows start..stop-1 of the generator's mel input: an array, or MelFeatures computed as needed; rows past
    the end repeat the last (as fit_mel pads)."""
    if hasattr(mel, "window"):
        rows = mel.window(start, stop)
    else:
        rows = mel[np.minimum(np.arange(start, stop), len(mel) - 1)]
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))


def model_inputs(mel: np.ndarray, num_frames: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's inputs for a whole piece: mel (3 * num_frames, 128) and noise (1, seconds, 8)."""
    return torch.from_numpy(fit_mel(mel, num_frames)), sample_noise(Generator.noise_seconds(num_frames), seed)


def _windows(total: int, core: int, context: int):
    """(input_start, input_stop, core_start, core_stop) covering [0, total) in cores of `core`."""
    for start in range(0, total, core):
        stop = min(total, start + core)
        yield max(0, start - context), min(total, stop + context), start, stop


def _fused_music_encoder(encoder: torch.nn.Module, window: int) -> torch.nn.Module:
    """A TorchScript-frozen, oneDNN-optimised copy of the music encoder (about 2.5x faster on CPU).

    TorchScript is deprecated in recent PyTorch, so the copy is checked against the eager module on a probe
    input and the eager module is used whenever building or checking fails.
    """
    probe = torch.rand(1, window, 128, generator=torch.Generator().manual_seed(0))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(encoder.eval(), probe, check_trace=False)  # checked below instead
            fused = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
            with torch.inference_mode():
                expected, got = encoder(probe), fused(probe)
        if got.shape == expected.shape and torch.allclose(got, expected, rtol=1e-4, atol=1e-3):
            return fused
    except Exception:  # any failure of the optional fast path falls back to the exact eager module
        pass
    return encoder


class MotionGenerator:
    """A loaded generator on a device, ready to turn mel features of any length into motion."""

    def __init__(
        self,
        generator: Generator,
        device: str | torch.device = "auto",
        config: GenerationConfig | None = None,
    ):
        self.device = resolve_device(device)
        self.config = config or GenerationConfig()
        self.generator = generator.eval().requires_grad_(False).to(self.device)
        if self.device.type == "cuda":
            # cuDNN defaults to TF32 convolutions on Ampere and later; process-wide, as PyTorch offers it
            torch.backends.cudnn.allow_tf32 = self.config.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = self.config.allow_tf32
        seconds = self.config.music_window_s or (60 if self.device.type == "cuda" else 10)
        self.music_window = seconds * MEL_RATE
        self._music_encoder = None

    def music_encoder(self) -> torch.nn.Module:
        if self._music_encoder is None:
            encoder = self.generator.music_encoder
            if self.device.type == "cpu" and self.config.fused_cpu_encoder:
                encoder = _fused_music_encoder(encoder, self.music_window + 2 * MUSIC_CONTEXT)
            self._music_encoder = encoder
        return self._music_encoder

    @torch.inference_mode()
    def __call__(
        self,
        mel: np.ndarray,
        num_frames: int,
        seed: int,
        progress: Progress | None = None,
        should_cancel: Callable[[], bool] | None = None,
        timings: dict[str, float] | None = None,
    ) -> np.ndarray:
        """Mel features (T, 128) at 90 Hz (an array or MelFeatures) -> keypoints float32 (num_frames, 13, 2).

        `timings`, when given, receives the seconds spent per stage.
        """
        if num_frames < 1:
            raise ValueError("nothing to generate: the piece has no motion frames")
        timings = timings if timings is not None else {}
        z = sample_noise(Generator.noise_seconds(num_frames), seed)
        report = progress or (lambda fraction, message: None)

        def check_cancel():
            if should_cancel is not None and should_cancel():
                raise GenerationCancelled("generation cancelled")

        encoder = self.music_encoder()
        t0 = time.perf_counter()
        music = torch.empty(1, num_frames, 64)
        windows = list(_windows(num_frames * MEL_FRAMES_PER_MOTION_FRAME, self.music_window, MUSIC_CONTEXT))
        for i, (a, b, core_a, core_b) in enumerate(windows):
            check_cancel()
            feats = encoder(mel_window(mel, a, b)[None].to(self.device))
            step = MEL_FRAMES_PER_MOTION_FRAME
            lo, hi, offset = core_a // step, core_b // step, (core_a - a) // step  # core in 30 Hz frames
            music[0, lo:hi] = feats[0, offset : offset + hi - lo].cpu()
            report(0.9 * (i + 1) / len(windows), "encoding music")
        timings["music_encoder"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        noise = self.generator.noise_upsampler(z.to(self.device))[:, :num_frames]
        out = np.empty((num_frames, 13, 2), np.float32)
        windows = list(
            _windows(num_frames, self.config.decoder_window_s * FPS, self.config.decoder_context_s * FPS)
        )
        for i, (a, b, core_a, core_b) in enumerate(windows):
            check_cancel()
            motion = self.generator.decode(music[:, a:b].to(self.device), noise[:, a:b])
            out[core_a:core_b] = motion[0, core_a - a : core_b - a].cpu().numpy()
            report(0.9 + 0.1 * (i + 1) / len(windows), "generating motion")
        timings["decoder"] = time.perf_counter() - t0
        return out

    @torch.inference_mode()
    def full_pass(self, mel: np.ndarray, num_frames: int, seed: int) -> np.ndarray:
        """The same result as one forward pass over the whole piece (reference for tests; memory grows with length)."""
        mel_t, z = model_inputs(mel, num_frames, seed)
        return self.generator(mel_t[None].to(self.device), z.to(self.device))[0].cpu().numpy()
