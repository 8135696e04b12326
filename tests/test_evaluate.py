"""`vconductor evaluate` end to end on a tiny dataset in the ConductorMotion100 layout, and the evaluate() API."""

import csv
import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import randomized
from test_metrics import bouncing_wrist
from test_metrics_parity import motion_like, one_torch_thread  # noqa: F401 (autouse fixture)
from vconductor.data.dataset import ConductorMotionDataset
from vconductor.evaluation import EvaluationConfig, EvaluationError, clip_bounds, evaluate, load_source
from vconductor.models import M2SNet, save_checkpoint
from vconductor.skeleton import JOINT


def write_dataset(root, split: str = "test", seconds: int = 8, count: int = 3):
    """<root>/<split>/<n>/mel.npy (L*90, 128) and motion.npy (L*30, 13, 2), float32: a 120 BPM pulse in the
    mel, and a body moving at random whose right wrist beats on that pulse."""
    rng = np.random.default_rng(0)
    for n in range(count):
        folder = root / split / str(n)
        folder.mkdir(parents=True)
        t = np.arange(seconds * 90) / 90
        pulse = np.exp(-((t % 0.5) / 0.04))  # 120 BPM
        mel = 0.25 + 0.6 * pulse[:, None] * rng.uniform(0.5, 1, (1, 128)) + 0.05 * rng.random((len(t), 128))
        np.save(folder / "mel.npy", mel.astype(np.float32))
        motion = bouncing_wrist(0.5, seconds) + 0.3 * (motion_like(rng, 1, seconds * 30)[0] - 0.5)
        motion[:, JOINT["right_wrist"]] = bouncing_wrist(0.5, seconds)[:, JOINT["right_wrist"]]
        np.save(folder / "motion.npy", motion.astype(np.float32))
    return root


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    root = write_dataset(tmp_path_factory.mktemp("cm100"))
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def m2snet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m2s") / "m2snet.pt"
    save_checkpoint(randomized(M2SNet(), seed=2), path, "m2snet")
    return path


def run_cli(*args, home, max_file_bytes: int | None = None):
    """`vconductor evaluate ARGS`; with `max_file_bytes`, writes past that size fail (as under `ulimit -f`)."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), no kill

    env = {**os.environ, "VCONDUCTOR_HOME": str(home), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "vconductor", "evaluate", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        preexec_fn=None if max_file_bytes is None else limit_file_size,
    )


def test_cli_writes_a_table2_report_with_plots(dataset_root, random_generator_file, m2snet_file, tmp_path):
    out = tmp_path / "report"
    models = ["--model", f"random={random_generator_file}", "--m2snet", m2snet_file]
    proc = run_cli(
        dataset_root, *models, "--clip-seconds", 4, "--limit", 2, "-o", out, "-q", home=tmp_path / "home"
    )
    assert proc.returncode == 0, proc.stderr
    with open(out / "report.csv", newline="") as f:
        rows = {row["model"]: row for row in csv.DictReader(f)}
    assert list(rows) == ["ground-truth", "random"]
    truth, model = rows["ground-truth"], rows["random"]
    assert truth["clips"] == "4"  # the first two 8 s samples, in 4 s clips
    assert float(truth["mse"]) == 0 and float(truth["se"]) == 0 and float(truth["sdp"]) == 100
    assert float(model["mse"]) > 0 and float(model["se"]) > 0 and float(model["rde"]) > 0
    assert np.isnan(float(model["w_dis"]))  # no critic given
    for key in ("bas", "beat_f", "diversity", "sce"):
        assert np.isfinite(float(model[key])) and np.isfinite(float(truth[key]))
    assert float(truth["bas"]) > 0.8 and float(truth["beat_f"]) > 0.6  # the real wrist beats on the pulse
    assert float(model["bas"]) < float(truth["bas"])
    text = (out / "report.md").read_text()
    assert (
        "| Model | MSE (x10^3) | SE | W-dis (x10^3) | RDE | SCE | SDP (%) | BAS | Beat F | Diversity |"
        in text
    )
    assert "| random |" in text and "| ground-truth | 0.0000 | 0.0000 | n/a |" in text
    for png in ("psd_joint_speed.png", "strength_contour.png", "value_distribution.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"({png})" in text


def test_cli_errors_are_one_clear_line(dataset_root, m2snet_file, tmp_path):
    cases = [
        ((dataset_root, "--split", "empty", "-o", tmp_path / "o"), "no samples"),
        ((dataset_root, "--model", "nosuchmodel", "-o", tmp_path / "o"), "'nosuchmodel' is neither"),
        ((dataset_root, "-o", tmp_path / "o"), "vconductor models add m2snet-test-official"),
        (
            (dataset_root, "-m", "baseline:nope.pt", "--m2snet", "none", "-o", tmp_path / "o"),
            "baseline:nope.pt",
        ),
    ]
    for args, message in cases:
        proc = run_cli(*args, home=tmp_path / "home")
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "report.md").exists()


def test_a_failed_write_leaves_the_previous_report_and_no_new_folder(tmp_path):
    """The report's files are written together or not at all: here the small CSV fits under the file-size
    limit and the plots (or report.md) do not."""
    root = write_dataset(tmp_path / "cm100", seconds=4, count=1)
    (root / "test" / "0" / "meta.json").write_text(json.dumps({"beats_s": list(np.arange(0, 4, 0.5))}))
    out = tmp_path / "report"
    out.mkdir()
    previous = {name: f"previous {name}\n" for name in ("report.csv", "report.md", "psd_joint_speed.png")}
    for name, text in previous.items():
        (out / name).write_text(text)
    proc = run_cli(root, "--m2snet", "none", "-o", out, "-q", home=tmp_path / "home", max_file_bytes=16384)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr == f"error: {out / 'psd_joint_speed.png'}: File too large\n"
    assert {p.name: p.read_text() for p in out.iterdir()} == previous  # no temp file either

    fresh = tmp_path / "new" / "report"
    proc = run_cli(
        root, "--m2snet", "none", "--no-plots", "-o", fresh, "-q", home=tmp_path / "home", max_file_bytes=600
    )
    assert proc.returncode == 1 and proc.stderr == f"error: {fresh / 'report.md'}: File too large\n"
    assert not (tmp_path / "new").exists()


def test_evaluate_api_with_a_callable_model(dataset_root, m2snet_file):
    dataset = ConductorMotionDataset(dataset_root, "test")
    still = lambda mel: np.full((len(mel) // 3, 13, 2), 0.5, np.float32)  # noqa: E731
    config = EvaluationConfig(clip_seconds=None, sync_model=None, progress=False)
    result = evaluate(dataset, {"truth": "ground-truth", "still": still}, config)
    assert result.clips == 3 and result.clip_frames == 240
    assert result.beat_source == "beats tracked on the mel"
    truth, flat = (r.metrics for r in result.results)
    assert flat["sdp"] == 0 and flat["mse"] > 0 and np.isnan(flat["se"])
    assert flat["bas"] == 0 and flat["beat_f"] == 0  # a still body has no motion beats
    assert flat["diversity"] == pytest.approx(0.0) and truth["diversity"] > 0
    with pytest.raises(EvaluationError, match="returned motion of shape"):
        evaluate(dataset, {"short": lambda mel: still(mel)[:-1]}, config)
    with pytest.raises(EvaluationError, match="distinct"):
        evaluate(dataset, [result_source("a"), result_source("a")], config)


def test_known_beats_from_meta_json_are_used(tmp_path):
    root = write_dataset(tmp_path, count=1)
    (root / "test" / "0" / "meta.json").write_text(json.dumps({"beats_s": list(np.arange(0, 8, 0.5))}))
    config = EvaluationConfig(clip_seconds=None, sync_model=None, progress=False)
    result = evaluate(ConductorMotionDataset(root, "test"), {"truth": "ground-truth"}, config)
    assert result.beat_source == "known beats (meta.json)"
    truth = result.results[0].metrics
    assert truth["bas"] > 0.95 and truth["beat_f"] > 0.95 and truth["tempo_error"] < 0.03


def test_generator_models_are_seeded(dataset_root, random_generator_file):
    source = load_source(f"g={random_generator_file}", device="cpu")
    dataset = ConductorMotionDataset(dataset_root, "test", limit=2)
    mel = np.array(dataset[1].mel[4 * 90 : 8 * 90])  # clip 3: the second half of sample 1
    assert source.name == "g"
    np.testing.assert_array_equal(source(mel, 3), source(mel, 3))
    assert not np.array_equal(source(mel, 3), source(mel, 4))
    config = EvaluationConfig(clip_seconds=4, sync_model=None, progress=False, seed=2)
    result = evaluate(dataset, [source], config).results[0]
    assert result.motions.shape == (4, 120, 13, 2)
    np.testing.assert_array_equal(result.motions[3], source(mel, 2 + 3))  # clip k of the split: seed + k


def result_source(name):
    from vconductor.evaluation import CallableSource

    return CallableSource(name, lambda mel: np.zeros((len(mel) // 3, 13, 2), np.float32))


def test_clip_bounds_follow_the_official_chunking():
    assert clip_bounds(1800, 900) == [(0, 900), (900, 1800)]
    assert clip_bounds(2000, 900) == [(0, 900), (900, 1800)]  # the remainder is dropped
    assert clip_bounds(240, 900) == [(0, 240)]  # a short sample is one clip
    assert clip_bounds(240, None) == [(0, 240)]
