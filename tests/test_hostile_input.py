"""Hostile input, tried as a user would: a real `vconductor serve` process on loopback and the real `vconductor
generate` command, with files made by soundfile and the bundled ffmpeg (docs/input-limits.md).

Each case was a 500, a traceback, a NaN result or a decode of the whole file before the length limit answered;
now each is a clear 4xx / one line naming the file, or (a FLAC with no length in its header) a correct decode.
"""

# ruff: noqa: F811 (the fixtures home and server come from test_service, as pytest passes them)

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import write_music
from test_service import error_of, generate, home, server, submit_file, submit_pcm  # noqa: F401 (fixtures)
from vconductor.audio import ffmpeg_executable

MiB = 2**20
VCONDUCTOR = [sys.executable, "-m", "vconductor"]
SERVER_LIMIT_MIN = 20  # the test server runs with --max-duration-s 1200


def ffmpeg(*args, stdout=None) -> None:
    cmd = [ffmpeg_executable(), "-nostdin", "-y", "-v", "error", *map(str, args)]
    subprocess.run(cmd, check=True, stdout=stdout, stderr=subprocess.PIPE, timeout=120)


def silence_flac(seconds: int, out: Path, *muxer: str) -> Path:
    """8 kHz mono silence as FLAC (a few hundred bytes a minute): hours of audio in a small file."""
    args = [
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=8000:cl=mono:nb_samples=4608",
        "-t",
        seconds,
        "-c:a",
        "flac",
        *muxer,
    ]
    if muxer:  # to a pipe: the muxer cannot go back to write the length into the header
        with open(out, "wb") as f:
            ffmpeg(*args, "pipe:1", stdout=f)
    else:
        ffmpeg(*args, out)
    return out


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmRSS:"))
    return int(kib) * 1024


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return found


class PeakRss:
    """The largest growth of a process's resident memory while the block runs (sampled every 10 ms)."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._done = pid, 0, threading.Event()

    def __enter__(self):
        self.baseline = rss(self.pid)
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, rss(self.pid))

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss(self.pid))

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def cli(args, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VCONDUCTOR_HOME": str(home)}
    cmd = [*VCONDUCTOR, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def assert_one_error_line(proc: subprocess.CompletedProcess, path: Path, *words: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), proc.stderr
    assert all(w in lines[0] for w in words), proc.stderr


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    return write_music(tmp_path_factory.mktemp("music") / "music.wav", 2.0)


@pytest.fixture(scope="module")
def four_hours(tmp_path_factory) -> Path:
    """4 h of FLAC-in-Matroska, whose header states its duration."""
    path = silence_flac(4 * 3600, tmp_path_factory.mktemp("long") / "four_hours.mka")
    assert path.stat().st_size < 4 * MiB
    return path


# ---------------------------------------------------------------------------------------------- length limit


def test_hours_of_audio_in_a_small_file_are_refused_from_the_header(server, four_hours):
    with PeakRss(server.proc.pid) as memory:
        t0 = time.monotonic()
        response = submit_file(server.client, four_hours)
        seconds = time.monotonic() - t0
    error = error_of(response)
    assert response.status_code == 422 and error["code"] == "too_long", response.text
    assert error["message"].startswith("four_hours.mka: 240.0 minutes of audio is over the limit"), error
    print(
        f"4 h in {four_hours.stat().st_size / MiB:.1f} MiB: refused in {seconds:.2f} s, RSS +{memory.growth / MiB:.0f} MiB"
    )
    assert seconds < 5 and memory.growth < 100 * MiB  # before: the whole 4 h decoded, over a GB


def test_a_file_stating_no_length_is_decoded_only_up_to_the_limit(server, tmp_path):
    two_hours = silence_flac(2 * 3600, tmp_path / "streamed.flac", "-f", "flac")  # no length in STREAMINFO
    with PeakRss(server.proc.pid) as memory:
        response = submit_file(server.client, two_hours)
    error = error_of(response)
    assert response.status_code == 422 and error["code"] == "too_long", response.text
    assert error["message"].startswith(
        f"streamed.flac: the audio is longer than the limit of {SERVER_LIMIT_MIN}"
    )
    print(f"2 h with no stated length: RSS +{memory.growth / MiB:.0f} MiB")
    assert memory.growth < 400 * MiB  # 20 minutes at 22050 Hz are 106 MB; 2 h would be 635 MB
    assert children(server.proc.pid) == []  # ffmpeg was stopped, not left decoding


def test_the_cli_refuses_audio_over_three_hours_from_the_header(tmp_path, home, four_hours):
    t0 = time.monotonic()
    proc = cli(["generate", four_hours, "-o", tmp_path / "out.npz", "--model", "procedural", "-q"], home)
    assert_one_error_line(proc, four_hours, "240.0 minutes", "over the limit of 180 minutes")
    assert time.monotonic() - t0 < 20 and not (tmp_path / "out.npz").exists()


# ------------------------------------------------------------------------------------------- sample values


def test_absurd_sample_values_are_refused(server, music, tmp_path):
    y, rate = sf.read(music, dtype="float32")
    c = server.client
    responses = {}
    for scale in (1e20, 3e38):
        huge = tmp_path / f"huge_{scale:g}.wav"
        sf.write(huge, (y / np.abs(y).max() * scale).astype(np.float32), rate, subtype="FLOAT")
        responses[huge.name] = submit_file(c, huge)
    responses["PCM body"] = submit_pcm(c, y * np.float32(1e30), rate)
    for name, response in responses.items():
        error = error_of(response)
        assert response.status_code == 422 and error["code"] == "invalid_audio", (name, response.text)
        assert error["message"].startswith(f"{name}: sample values reach"), error
    # loud but plausible: integer-scaled float exports are audio, with finite results
    loud = submit_pcm(c, y * np.float32(32768), rate)
    assert np.isfinite(generate(c, loud)).all()


def test_the_cli_refuses_absurd_sample_values_in_one_line(tmp_path, home, music):
    y, rate = sf.read(music, dtype="float32")
    huge = tmp_path / "huge.wav"
    sf.write(huge, y * np.float32(1e30), rate, subtype="FLOAT")
    out = tmp_path / "out.npz"
    proc = cli(["generate", huge, "-o", out, "--model", "procedural", "-q"], home)
    assert_one_error_line(proc, huge, "sample values reach")
    assert not out.exists()


# ----------------------------------------------------------------------------------------- crop and formats


def test_absurd_crop_values_are_a_422(server, music):
    c = server.client
    for params in ({"end_s": 1e308}, {"start_s": 1e308}, {"start_s": 0.5, "end_s": 2e6}):
        response = submit_file(c, music, **params)
        assert response.status_code == 422, (params, response.text)
        assert error_of(response)["code"] == "invalid_option", (params, response.text)
    past_the_end = submit_file(c, music, start_s=0.5, end_s=1e5)  # means: to the end
    assert generate(c, past_the_end).shape == (45, 13, 2)


def test_wav_and_flac_that_libsndfile_cannot_read_to_the_end_decode(
    server, tmp_path, home, music, random_generator_file
):
    """A FLAC with no length in its STREAMINFO (ffmpeg writing to a pipe) and a GSM 6.10 WAV (which libsndfile
    cannot seek in): before, a refusal as "6971558606844 minutes" / "corrupt", and a 500."""
    streamed = tmp_path / "streamed.flac"
    with open(streamed, "wb") as f:
        ffmpeg("-i", music, "-c:a", "flac", "-f", "flac", "pipe:1", stdout=f)
    assert sf.info(streamed).frames > 2**62  # libsndfile: no length known
    gsm = tmp_path / "gsm.wav"  # the bundled ffmpeg has no GSM encoder; libsndfile has one
    sf.write(gsm, sf.read(write_music(tmp_path / "8k.wav", 2.0, sample_rate=8000))[0], 8000, subtype="GSM610")
    for path in (streamed, gsm):
        assert generate(server.client, submit_file(server.client, path)).shape == (60, 13, 2), path
    out = tmp_path / "out"
    proc = cli(["generate", streamed, gsm, "-o", out, "--model", random_generator_file, "-q"], home)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["gsm.npz", "streamed.npz"]


# ------------------------------------------------------------------------------------------------ multipart


def test_only_the_file_part_is_the_audio(server, music):
    c = server.client
    data = music.read_bytes()
    cases = {
        "audio": c.post("/v1/jobs", files={"audio": ("music.wav", data)}),
        "seed": c.post("/v1/jobs", files={"seed": ("music.wav", data)}),
        "text file part": c.post("/v1/jobs", files={"file": (None, "music.wav")}),
    }
    for case, response in cases.items():
        assert response.status_code == 422, (case, response.text)
        assert error_of(response)["code"] == "missing_file", (case, response.text)
        assert "'file'" in error_of(response)["message"], (case, response.text)
    assert generate(c, c.post("/v1/jobs", files={"file": ("music.wav", data)}, data={"seed": "3"})).shape == (
        60,
        13,
        2,
    )
