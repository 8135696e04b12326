"""Shared helpers for the add-on's service tests (a plain module, not a conftest: a second conftest.py would
replace the `conftest` module that tests/test_service.py imports from)."""

import functools
import os
import socket
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BACKEND_CMD_ENV = "VCONDUCTOR_BACKEND_CMD"  # the `vconductor` executable the add-on tests start
BLENDER50_PYTHON = REPO / ".venv-blender50" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def backend_command() -> str:
    """$VCONDUCTOR_BACKEND_CMD, else the `vconductor` beside this interpreter (the test venv's)."""
    return os.environ.get(BACKEND_CMD_ENV) or str(Path(sys.executable).with_name("vconductor"))


@functools.cache  # the same long piece serves several tests; callers must not modify it
def music(seconds: float, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
    """Mono float32 music-like PCM: a chord progression with a pulse every half second, and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pulse = np.exp(-((t % 0.5) / 0.05))
    freqs = 220 * 2 ** (np.array([0, 4, 7]) / 12) * 2 ** (np.floor(t / 2)[:, None] % 3 / 12)
    tone = np.sin(2 * np.pi * np.cumsum(freqs, axis=0) / sample_rate).sum(1) / 3
    return (0.3 * tone * (0.4 + 0.6 * pulse) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gone(pid: int) -> bool:
    """True when `pid` is neither running nor a zombie."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return status == "X"
