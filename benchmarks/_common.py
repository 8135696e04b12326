"""Helpers shared by the benchmark scripts."""

import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OFFICIAL_GENERATOR = SHARED / "reference" / "checkpoints" / "M2SGAN_official_pretrained.pt"


def long_piece(path: Path, seconds: float, rate: int | None = None) -> Path:
    """Real music of the given length: the ../shared corpus pieces in a row (else the bundled example), looped;
    at the sources' rate, or resampled to `rate`."""
    sources = sorted((SHARED / "corpus").glob("*.flac")) or [REPO / "examples" / "ode_to_joy.ogg"]
    audio = [sf.read(p, dtype="float32", always_2d=True)[0].mean(1) for p in sources]
    if rate is not None:
        import soxr

        audio = [soxr.resample(y, sf.info(p).samplerate, rate) for y, p in zip(audio, sources, strict=True)]
    rate = rate or sf.info(sources[0]).samplerate
    n = int(round(seconds * rate))
    y = np.concatenate(audio * (n // sum(map(len, audio)) + 1))[:n]
    sf.write(path, y, rate)
    return path


def timed_runs(cmd: list[str], runs: int, env=None) -> tuple[list[float], list[str]]:
    """Wall seconds of `runs` fresh processes (start to exit) and their stdout."""
    walls, outs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr}")
        outs.append(proc.stdout)
    return walls, outs


def describe(walls: list[float]) -> str:
    return f"median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}, n={len(walls)})"


def machine() -> str:
    import os
    import platform

    cpu = platform.processor() or "cpu"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
