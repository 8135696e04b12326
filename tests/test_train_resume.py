"""Exact resume after a SIGKILL, and 2-process DDP (gloo on CPU), both through the real command line."""

import csv
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from test_train_sync import make_synced_dataset
from vconductor.models import M2SNet

REPO = Path(__file__).resolve().parents[1]
TINY = ["--sample-length", "3", "--clip-length", "1", "--super-hard-shift", "0.25", "1", "--batch-size", "2"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "backend")}


def train_cmd(data: Path, out: Path, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "vconductor", "train", "sync", str(data), "--out", str(out)]
    return [*command, *TINY, "-q", "--no-tensorboard", *extra]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "m2snet.pt", weights_only=True)["state_dict"]


def state_step(run: Path) -> int:
    path = run / "training_state.pt"
    return torch.load(path, weights_only=True)["step"] if path.exists() else -1


def metrics_rows(run: Path) -> list[list[str]]:
    """The whole rows of metrics.csv (a row being written when the run was stopped is left out)."""
    if not (run / "metrics.csv").exists():
        return []
    with open(run / "metrics.csv", newline="") as f:
        text = f.read()
    return list(csv.reader(text[: text.rfind("\n") + 1].splitlines()))[1:]


def stop_after_a_step_past_a_checkpoint(proc: subprocess.Popen, run: Path, timeout_s: float) -> None:
    """SIGKILL the run at a moment when it has logged steps after its last checkpoint (and before the next).

    The run is paused (SIGSTOP) while its files are read, so what is read is what the kill leaves."""
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        if state_step(run) >= 4:
            proc.send_signal(signal.SIGSTOP)
            saved, logged = state_step(run), max((int(r[0]) for r in metrics_rows(run)), default=-1)
            if logged > saved and saved % 6 != 0:
                proc.send_signal(signal.SIGKILL)
                break
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_synced_dataset(
        tmp_path_factory.mktemp("synced"), seconds=6, counts=(("train", 6), ("val", 2))
    )


def test_resume_after_sigkill_gives_the_same_weights_as_an_uninterrupted_run(data, tmp_path):
    steps = [
        "--max-steps",
        "20",
        "--checkpoint-every",
        "4",
    ]  # 6 batches per epoch: checkpoints fall mid-epoch
    whole_run = tmp_path / "whole"
    subprocess.run(train_cmd(data, whole_run, *steps), env=ENV, check=True, timeout=300)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(data, killed, *steps), env=ENV)
    stop_after_a_step_past_a_checkpoint(proc, killed, timeout_s=240)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    at_kill = state_step(killed)
    assert 4 <= at_kill < 20 and at_kill % 6 != 0  # mid-epoch, with steps after it lost
    assert max(int(row[0]) for row in metrics_rows(killed)) > at_kill  # and logged

    subprocess.run(train_cmd(data, killed, *steps, "--resume"), env=ENV, check=True, timeout=300)
    assert state_step(killed) == 20
    whole, resumed = weights(whole_run), weights(killed)
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key  # bit-identical on CPU
    # the log too: the lost steps are logged once, as the uninterrupted run logged them (speed aside)
    logged = {
        run: [r for r in metrics_rows(run) if r[1] != "speed/samples_per_s"] for run in (whole_run, killed)
    }
    assert logged[killed] == logged[whole_run]


def test_resume_without_a_state_is_a_clear_error(data, tmp_path):
    result = subprocess.run(
        train_cmd(data, tmp_path / "none", "--resume"), env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no training state to resume" in result.stderr and "Traceback" not in result.stderr


def test_two_process_ddp_on_cpu_finishes_with_identical_weights(data, tmp_path):
    out = tmp_path / "ddp"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    train = [
        "-m",
        "vconductor",
        "train",
        "sync",
        str(data),
        "--out",
        str(out),
        *TINY,
        "-q",
        "--no-tensorboard",
    ]
    cmd = [*torchrun, *train, "--device", "cpu", "--max-steps", "6", "--checkpoint-every", "3"]
    subprocess.run(cmd, env=ENV, check=True, timeout=300)
    rows = (out / "metrics.csv").read_text().splitlines()
    spread = [float(r.split(",")[2]) for r in rows if ",ddp/weight_spread," in r]
    assert spread == [0.0]
    assert state_step(out) == 6 and any(",val/acc_hard," in r for r in rows)


def test_resume_refuses_changed_settings_and_leaves_the_run_as_it_was(data, tmp_path):
    out = tmp_path / "run"
    subprocess.run(train_cmd(data, out, "--max-steps", "1"), env=ENV, check=True, timeout=300)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = subprocess.run(
        train_cmd(data, out, "--max-steps", "2", "--resume", "--lr", "0.01"),
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "lr 0.001 -> 0.01" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # config.json still says lr 0.001


def test_config_json_is_whole_or_absent_when_it_cannot_be_written(data, tmp_path):
    """Under a file-size limit (as `ulimit -f` sets) smaller than config.json: no cut-off file, one line."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), no kill

    out = tmp_path / "run"
    result = subprocess.run(
        train_cmd(data, out, "--max-steps", "1"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit_file_size,
    )
    assert result.returncode == 1 and result.stderr == f"error: {out / 'config.json'}: File too large\n"
    assert [p.name for p in out.iterdir()] == []


def _disk_with_room_for(size: int) -> list[str]:
    """A command prefix that runs a command with a tmpfs of `size` bytes mounted on its first argument, in a
    private user + mount namespace (no root needed), then prints what the folder holds."""
    script = 'mount -t tmpfs -o size="$0" tmpfs "$1" || exit 99; d="$1"; shift; "$@"; rc=$?; cd "$d"; find; exit $rc'
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(size)]


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_leaves_no_file(data, tmp_path):
    """The disk fills after the training state and before m2snet.pt: one line naming m2snet.pt, no traceback,
    no partial file. The disk is a tmpfs with room for the state (3.3x the weights), not for m2snet.pt (1.1x)."""
    namespaces = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    if shutil.which("unshare") is None or subprocess.run(namespaces, capture_output=True).returncode != 0:
        pytest.skip("needs unprivileged user namespaces (unshare -rm) to mount a small tmpfs")
    weights_bytes = sum(t.numel() * t.element_size() for t in M2SNet().state_dict().values())
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "run"
    result = subprocess.run(
        [
            *_disk_with_room_for(int(3.9 * weights_bytes)),
            str(disk),
            *train_cmd(data, out, "--max-steps", "1"),
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 99, result.stderr  # the tmpfs could not be mounted
    assert (
        result.returncode == 1 and result.stderr == f"error: {out / 'm2snet.pt'}: No space left on device\n"
    )
    left = sorted(result.stdout.split())  # what the disk holds afterwards: no m2snet.pt, whole or partial
    assert left == [".", "./run", "./run/config.json", "./run/metrics.csv", "./run/training_state.pt"]
