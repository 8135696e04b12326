"""Where the `vconductor` commands write, as a user meets it: real processes, real audio, real write failures.

Results are never lost silently (two inputs writing one file are refused before any work), `-o` means a file or
a folder as documented, and a failed write (here a file-size limit, as `ulimit -f` sets) is one line naming the
file, a non-zero exit, and leaves no file, temp file or folder behind.
"""

import os
import resource
import signal
import subprocess
import sys

import numpy as np

from conftest import write_music
from vconductor.motion_io import Motion, load_motion, save_motion
from vconductor.skeleton import NUM_JOINTS

VCONDUCTOR = [sys.executable, "-m", "vconductor"]


def vconductor(args, tmp_path, max_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    """Run the command; with `max_file_bytes`, under that file-size limit (RLIMIT_FSIZE, as `ulimit -f`)."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        signal.signal(
            signal.SIGXFSZ, signal.SIG_IGN
        )  # a write past the limit fails (EFBIG) instead of killing

    env = {
        **os.environ,
        "VCONDUCTOR_HOME": str(tmp_path / "home"),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [*VCONDUCTOR, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=limit_file_size if max_file_bytes is not None else None,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error: ")]


def everything_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_inputs_that_would_write_one_file_are_refused_before_any_work(tmp_path):
    for folder in ("d1", "d2"):
        (tmp_path / folder).mkdir()
        write_music(tmp_path / folder / "x.wav", 1.0)
    out = tmp_path / "out"
    for inputs in (
        [tmp_path / "d1" / "x.wav", tmp_path / "d2" / "x.wav"],
        [tmp_path / "d1", tmp_path / "d2"],
    ):
        proc = vconductor(
            ["generate", *inputs, "-o", out, "--model", "procedural", "--meter", "4/4"], tmp_path
        )
        assert proc.returncode == 1 and len(error_lines(proc)) == 1, proc.stderr
        assert "d1/x.wav and " in proc.stderr and "d2/x.wav would both be written to" in proc.stderr
        assert "frames" not in proc.stdout and not out.exists()  # nothing generated, nothing written
    proc = vconductor(["generate", tmp_path / "d1" / "x.wav", tmp_path / "d1", "-o", out], tmp_path)
    assert proc.returncode == 1 and "x.wav: given twice" in proc.stderr and not out.exists()


def test_output_is_a_motion_file_or_a_folder_and_nothing_else(tmp_path):
    audio = write_music(tmp_path / "a.wav", 1.0)
    other = write_music(tmp_path / "b.wav", 1.0)
    refusals = [
        (
            [audio, "-o", tmp_path / "clips" / "video.mp4"],
            "for mp4, write a .npz and run `vconductor preview",
        ),
        ([audio, other, "-o", tmp_path / "clips" / "both.npz"], "need an output folder, not a .npz file"),
        ([audio, "-o", tmp_path / "clips" / "a.json", "--format", "csv"], "--format is for folder output"),
    ]
    for args, message in refusals:
        proc = vconductor(["generate", *args, "--model", "procedural"], tmp_path)
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr
        assert len(error_lines(proc)) == 1 and not (tmp_path / "clips").exists()
    # a trailing slash says "folder", whatever the name looks like
    proc = vconductor(
        ["generate", audio, "-o", f"{tmp_path / 'takes.v2'}/", "--model", "procedural"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert everything_under(tmp_path / "takes.v2") == ["a.npz"]


def test_a_failed_write_leaves_nothing_and_is_one_line(tmp_path):
    audio = write_music(tmp_path / "a.wav", 2.0)
    out = tmp_path / "out" / "a.npz"
    args = ["generate", audio, "-o", out, "--model", "procedural", "--meter", "4/4"]
    proc = vconductor(args, tmp_path, max_file_bytes=1024)
    assert proc.returncode == 1
    assert error_lines(proc) == [f"error: {out}: cannot write (File too large)"], proc.stderr
    assert not (tmp_path / "out").exists()  # no file, no temp file, not even the folder


def test_an_input_gets_all_its_formats_or_none(tmp_path):
    audio = write_music(tmp_path / "a.wav", 2.0)
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "a.npz").write_bytes(b"an earlier result, not to be replaced by half a run")
    args = ["generate", audio, "-o", tmp_path / "kept", "--model", "procedural", "--meter", "4/4"]
    # `ulimit -f 24`: the .npz of these 2 s (2D and 3D, ~17 kB) fits, the .csv (~40 kB) does not
    proc = vconductor([*args, "--format", "npz,csv"], tmp_path, max_file_bytes=24 * 1024)
    assert proc.returncode == 1
    assert error_lines(proc) == [f"error: {tmp_path / 'kept' / 'a.csv'}: cannot write (File too large)"]
    assert everything_under(tmp_path / "kept") == ["a.npz"]
    assert (tmp_path / "kept" / "a.npz").read_bytes().startswith(b"an earlier result")


def test_preview_that_cannot_be_written_leaves_nothing(tmp_path):
    rng = np.random.default_rng(0)
    keypoints = 0.5 + 0.1 * rng.standard_normal((60, NUM_JOINTS, 2))
    motion = save_motion(Motion(keypoints, 2.0, "test", 0), tmp_path / "m.npz")
    assert load_motion(motion).num_frames == 60
    sheet = tmp_path / "previews" / "sheet.png"
    proc = vconductor(["preview", motion, "-o", sheet, "--size", "240", "-q"], tmp_path, max_file_bytes=4096)
    assert proc.returncode == 1
    assert error_lines(proc) == [f"error: {sheet}: cannot write (File too large)"], proc.stderr
    assert not (tmp_path / "previews").exists()


def test_evaluate_report_that_cannot_be_written_is_one_line(tmp_path):
    rng = np.random.default_rng(0)
    sample = tmp_path / "data" / "test" / "0"
    sample.mkdir(parents=True)
    np.save(sample / "mel.npy", rng.random((4 * 90, 128), dtype=np.float32))
    np.save(
        sample / "motion.npy", (0.5 + 0.05 * rng.standard_normal((4 * 30, NUM_JOINTS, 2))).astype(np.float32)
    )
    report = tmp_path / "report"
    args = ["evaluate", tmp_path / "data", "--m2snet", "none", "--no-plots", "-q", "-o", report]
    proc = vconductor(args, tmp_path, max_file_bytes=64)
    assert proc.returncode == 1 and len(error_lines(proc)) == 1, proc.stderr
    assert "report" in error_lines(proc)[0] and "File too large" in proc.stderr
    assert not [p for p in report.rglob("*") if p.name.startswith(".")]  # no temp file left
