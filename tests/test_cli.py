"""The `vconductor` command as a user runs it: a real subprocess, real files, exit codes and messages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import OFFICIAL_GENERATOR, write_music
from vconductor.models import M2SNet, save_checkpoint
from vconductor.motion_io import load_motion
from vconductor.skeleton import JOINT_NAMES

VCONDUCTOR = [sys.executable, "-m", "vconductor"]


def run(args, home, check_ok=None, env_extra=None, **kw):
    env = {**os.environ, "VCONDUCTOR_HOME": str(home), **(env_extra or {})}
    proc = subprocess.run(
        [*VCONDUCTOR, *map(str, args)], capture_output=True, text=True, env=env, timeout=300, **kw
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    if check_ok is not None:
        assert (proc.returncode == 0) == check_ok, proc.stderr
    return proc


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def test_generate_writes_a_complete_npz(tmp_path, home, random_generator_file):
    audio = write_music(tmp_path / "piece.wav", 3.3, sample_rate=44100, channels=2)
    out = tmp_path / "out" / "piece.npz"
    run(["generate", audio, "-o", out, "--model", random_generator_file, "--seed", "7"], home, check_ok=True)
    with np.load(out, allow_pickle=False) as d:
        assert d["keypoints"].dtype == np.float32 and d["keypoints"].shape == (99, 13, 2)
        assert int(d["fps"]) == 30 and int(d["seed"]) == 7
        assert tuple(d["joint_names"]) == JOINT_NAMES
        assert float(d["duration_s"]) == pytest.approx(3.3, abs=1e-3)
        assert str(d["model"]).startswith("file:random_generator@")
    # the same seed gives the same motion, as JSON and CSV too
    for suffix in (".json", ".csv"):
        other = tmp_path / f"again{suffix}"
        run(
            ["generate", audio, "-o", other, "--model", random_generator_file, "--seed", "7"],
            home,
            check_ok=True,
        )
        assert np.abs(load_motion(other).keypoints - load_motion(out).keypoints).max() < 1e-6
    assert json.loads((tmp_path / "again.json").read_text())["joint_names"] == list(JOINT_NAMES)


def test_folder_input_writes_one_output_per_file(tmp_path, home, random_generator_file):
    music = tmp_path / "music"
    music.mkdir()
    write_music(music / "a.wav", 1.0)
    write_music(music / "a.flac", 1.5)  # same stem: outputs keep the suffix apart
    write_music(music / "b.ogg", 2.0)
    (music / "notes.txt").write_text("not audio, and not picked up")
    out = tmp_path / "out"
    proc = run(["generate", music, "-o", out, "--model", random_generator_file, "--format", "npz,csv"], home)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a.flac.csv", "a.flac.npz", "a.wav.csv", "a.wav.npz", "b.csv", "b.npz"]
    assert load_motion(out / "a.flac.npz").num_frames == 45


def test_bad_inputs_fail_clearly_and_write_nothing(tmp_path, home, random_generator_file):
    good = write_music(tmp_path / "good.wav", 1.0)
    bad = {
        "empty.wav": b"",
        "text.mp3": b"this is not audio at all\n" * 40,
        "random.flac": np.random.default_rng(0).bytes(5000),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    sf.write(tmp_path / "silent.wav", np.zeros(22050 * 2, np.float32), 22050)
    sf.write(
        tmp_path / "short.wav", np.random.default_rng(0).standard_normal(4410).astype(np.float32) * 0.1, 22050
    )
    inputs = [
        good,
        *(tmp_path / n for n in bad),
        tmp_path / "silent.wav",
        tmp_path / "short.wav",
        tmp_path / "missing.wav",
    ]
    out = tmp_path / "out"
    proc = run(["generate", *inputs, "-o", out, "--model", random_generator_file], home, check_ok=False)
    assert proc.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["good.npz"]
    err = proc.stderr
    assert "empty.wav: file is empty" in err
    assert "text.mp3" in err and "random.flac" in err
    assert "silent.wav: the audio is silent" in err
    assert "short.wav: too short (0.20 s)" in err
    assert "missing.wav: file not found" in err
    assert "6 of 7 file(s) failed" in err


def test_single_bad_file_exits_non_zero_without_output(tmp_path, home, random_generator_file):
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(100))
    out = tmp_path / "corrupt.npz"
    proc = run(
        ["generate", tmp_path / "corrupt.wav", "-o", out, "--model", random_generator_file],
        home,
        check_ok=False,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("error: ")
    assert not out.exists() and not list(tmp_path.glob(".corrupt*"))


def test_without_a_learned_model_the_procedural_conductor_is_the_default(tmp_path, home):
    audio = write_music(tmp_path / "a.wav", 4.0)
    proc = run(["generate", audio, "-o", tmp_path / "a.npz", "--meter", "3/4"], home, check_ok=True)
    assert "procedural conductor is used" in proc.stderr
    motion = load_motion(tmp_path / "a.npz")
    assert motion.model == "procedural" and motion.num_frames == 120
    proc = run(["models", "add", "procedural", tmp_path / "a.npz"], home, check_ok=False)
    assert "built-in procedural conductor" in proc.stderr


def test_model_problems_are_one_clear_line(tmp_path, home):
    audio = write_music(tmp_path / "a.wav", 1.0)
    save_checkpoint(M2SNet(), tmp_path / "m2snet.pt", "m2snet")
    proc = run(
        ["generate", audio, "-o", tmp_path / "a.npz", "--model", tmp_path / "m2snet.pt"], home, check_ok=False
    )
    assert "m2snet" in proc.stderr.lower() and proc.returncode == 1
    proc = run(["generate", audio, "-o", tmp_path / "a.npz", "--model", "nosuchmodel"], home, check_ok=False)
    assert "nosuchmodel" in proc.stderr and proc.returncode == 1
    assert not (tmp_path / "a.npz").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, home, random_generator_file):
    audio = write_music(tmp_path / "a.wav", 1.0)
    args = ["generate", audio, "-o", tmp_path / "a.npz", "--model", random_generator_file, "--device", "cuda"]
    proc = run(args, home, check_ok=False)
    assert "no CUDA device" in proc.stderr


def test_usage_errors(tmp_path, home):
    assert run(["generate"], home, check_ok=False).returncode == 2
    proc = run(["generate", tmp_path, "-o", tmp_path / "o"], home, check_ok=False)
    assert "no audio files in this folder" in proc.stderr
    proc = run(
        ["generate", "x.wav", "-o", tmp_path / "o", "--format", "xml", "--model", "x"], home, check_ok=False
    )
    assert "unknown format" in proc.stderr
    assert run(["--version"], home, check_ok=True).stdout.startswith("vconductor ")


def test_registered_official_model_and_preview(tmp_path, home):
    if not OFFICIAL_GENERATOR.is_file():
        pytest.skip("needs ../shared/reference/checkpoints/M2SGAN_official_pretrained.pt")
    run(["models", "add", "official", OFFICIAL_GENERATOR], home, check_ok=True)
    audio = write_music(tmp_path / "piece.wav", 6.0)
    out = tmp_path / "piece.npz"
    run(
        ["generate", audio, "-o", out, "--timings"], home, check_ok=True
    )  # the registered model is the default
    motion = load_motion(out)
    assert motion.model == "official" and motion.num_frames == 180
    # the official convention: shoulders ~0.2 apart, hips near (0.5, 0.75), the left side at larger x
    kp = motion.keypoints
    assert 0.1 < np.mean(kp[:, 5, 0] - kp[:, 6, 0]) < 0.3
    assert np.abs(kp[:, 11:13].mean(axis=(0, 1)) - [0.5, 0.75]).max() < 0.1
    sheet = tmp_path / "sheet.png"
    run(["preview", out, "-o", sheet], home, check_ok=True)
    assert sheet.stat().st_size > 10_000
    proc = run(["preview", tmp_path / "nothing.npz", "-o", tmp_path / "x.png"], home, check_ok=False)
    assert "not found" in proc.stderr and not (tmp_path / "x.png").exists()


def test_entry_point_is_installed():
    exe = Path(sys.executable).with_name("vconductor")
    assert exe.is_file(), "the console script `vconductor` is installed with the package"


def test_a_run_leaves_no_scratch_folder(tmp_path, home):
    """The CLI exits with os._exit (no atexit handlers): its scratch folder must still go."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    audio = write_music(tmp_path / "a.wav", 2.0)
    run(["generate", audio, "-o", tmp_path / "a.npz"], home, check_ok=True, env_extra={"TMPDIR": str(temp)})
    left = [p for parent in temp.glob("vconductor-*") for p in parent.iterdir()]
    assert left == []


def test_style_options(tmp_path, home, random_generator_file):
    """A preset and controls on top; a learned model is told what it ignores; bad values are one line."""
    audio = write_music(tmp_path / "a.wav", 4.0)
    plain, chorale, styled = (tmp_path / f"{name}.npz" for name in ("plain", "chorale", "styled"))
    base = ["generate", str(audio), "--model", "procedural", "-q"]
    assert run([*base, "-o", str(plain)], home).returncode == 0
    assert run([*base, "-o", str(chorale), "--style", "Chorale"], home).returncode == 0
    proc = run([*base, "-o", str(styled), "--style", "chorale", "--size", "1.6", "--no-baton"], home)
    assert proc.returncode == 0, proc.stderr
    assert load_motion(styled).baton_tip is None and load_motion(plain).baton_tip is not None
    wrist = JOINT_NAMES.index("right_wrist")
    spread = [np.ptp(load_motion(p).keypoints[:, wrist], axis=0).sum() for p in (plain, chorale, styled)]
    assert spread[1] < spread[0] and spread[2] > 1.4 * spread[1]  # chorale is smaller; --size on top of it
    learned = run(
        [
            "generate",
            str(audio),
            "-o",
            str(tmp_path / "l.npz"),
            "--model",
            str(random_generator_file),
            "--energy",
            "1.5",
        ],
        home,
    )
    assert learned.returncode == 0 and "--energy only steer the procedural conductor" in learned.stderr
    bad = run([*base, "-o", str(tmp_path / "b.npz"), "--style", "tango"], home)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: unknown style preset 'tango'; choose one of: reference, chorale, allegro-energico, film-score-legato"
    ]
    assert not (tmp_path / "b.npz").exists()
