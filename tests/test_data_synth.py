"""`vconductor data synth`: generated music conducted from its known beats -- reproducible, truly in sync,
varied, in the dataset layout."""

import json
import subprocess
import sys

import numpy as np
import pytest

from vconductor.data.dataset import ConductorMotionDataset
from vconductor.data.synth import SynthError, SynthOptions, parse_splits, synth_dataset, synth_sample
from vconductor.data.synth_music import SynthConfig, compose
from vconductor.metrics import beat_align_score, motion_beats
from vconductor.skeleton import JOINT

OPTIONS = SynthOptions(seconds=12, seed=3)


@pytest.fixture(scope="module")
def samples():
    return [synth_sample(3, "train", i, OPTIONS) for i in range(8)]


def test_shapes_and_reproducibility(samples):
    s = samples[0]
    assert s.mel.shape == (12 * 90, 128) and s.motion.shape == (12 * 30, 13, 2)
    assert s.mel.dtype == np.float32 and s.motion.dtype == np.float32
    assert s.mel.min() >= 0.0 and s.mel.max() <= 1.0
    again = synth_sample(3, "train", 0, OPTIONS)
    np.testing.assert_array_equal(again.mel, s.mel)
    np.testing.assert_array_equal(again.motion, s.motion)
    assert again.meta == s.meta
    other_split = synth_sample(3, "val", 0, OPTIONS)
    assert not np.array_equal(other_split.motion, s.motion)


def test_motion_beats_fall_on_the_known_music_beats(samples):
    """True sync: the wrist's speed minima (FACT motion beats) land on the composed beats, far above chance."""
    scores, shifted = [], []
    for s in samples:
        beats = np.array(s.meta["beats_s"])
        assert len(beats) >= 4
        mb = motion_beats(s.motion)
        scores.append(beat_align_score(mb, beats))
        period = 60.0 / np.median(s.meta["tempo_bpm"])
        shifted.append(beat_align_score(mb, beats + 0.5 * period))  # the same beats half a beat off
    assert min(scores) > 0.8 and np.mean(scores) > 0.9, scores
    assert np.mean(shifted) < 0.5 * np.mean(scores), shifted


def test_samples_vary_in_tempo_metre_and_motion(samples):
    tempi = [np.median(s.meta["tempo_bpm"]) for s in samples]
    assert max(tempi) / min(tempi) > 1.4
    assert all(60 - 1e-6 <= t <= 160 + 1e-6 for s in samples for t in s.meta["tempo_bpm"])
    assert len({s.meta["meter"] for s in samples}) >= 2
    wrist = JOINT["right_wrist"]
    spread = np.array([s.motion[:, wrist].std(axis=0).sum() for s in samples])
    assert spread.min() > 0.01  # the hand moves
    assert spread.std() / spread.mean() > 0.1  # and by different amounts from sample to sample
    mean_pose = np.array([s.motion.mean(axis=0) for s in samples])
    assert mean_pose.std(axis=0).max() > 0.005  # different builds and habits, not one template


def test_motion_follows_the_official_normalisation(samples):
    for s in samples:
        m = s.motion
        shoulders = m[:, JOINT["left_shoulder"], 0] - m[:, JOINT["right_shoulder"], 0]
        hips = m[:, [JOINT["left_hip"], JOINT["right_hip"]]].mean(axis=(0, 1))
        assert 0.17 < shoulders.mean() < 0.23
        np.testing.assert_allclose(hips, [0.5, 0.75], atol=0.02)
        assert m.min() > 0.0 and m.max() < 1.0


def test_composer_respects_the_configured_ranges():
    cfg = SynthConfig(bpm_range=(90.0, 100.0), beats_per_bar=(3,), tempo_change_prob=0.0, rest_prob=0.0)
    for seed in range(5):
        piece = compose(np.random.default_rng(seed), 10.0, cfg)
        assert piece.meter == "3/4"
        assert np.all((piece.tempo_bpm >= 90) & (piece.tempo_bpm <= 100))
        assert np.allclose(np.diff(piece.beats_s), 60.0 / piece.tempo_bpm[:-1])
        assert list(piece.beat_in_bar[:6]) == [0, 1, 2, 0, 1, 2]


def test_parse_splits():
    assert parse_splits("train:8,val:1,test:1", None) == {"train": 8, "val": 1, "test": 1}
    assert parse_splits("train,val,test", 20) == {"train": 16, "val": 2, "test": 2}
    assert parse_splits("train,val,test", 5) == {"train": 3, "val": 1, "test": 1}  # none left empty
    assert parse_splits("train:0.5,val:0.5", 7) == {"train": 4, "val": 3}
    for text, n, message in [
        ("train:8,val:2", 5, "differs from the split counts"),
        ("train,val", None, "--samples is needed"),
        ("train:x", 4, "not NAME:COUNT"),
        ("train,train", 4, "given twice"),
        ("../x:3", None, "not a usable split name"),
    ]:
        with pytest.raises(SynthError, match=message):
            parse_splits(text, n)


def test_dataset_writer_is_independent_of_workers_and_resumable(tmp_path):
    options = SynthOptions(seconds=4, seed=1)
    splits = {"train": 3, "val": 1}
    synth_dataset(tmp_path / "one", splits, options, workers=1, progress=False)
    synth_dataset(tmp_path / "two", splits, options, workers=2, progress=False)
    for split in splits:
        a, b = (ConductorMotionDataset(tmp_path / d, split) for d in ("one", "two"))
        assert a.names == b.names and a.seconds == 4
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x.motion, y.motion)
            np.testing.assert_array_equal(x.mel, y.mel)
    with pytest.raises(SynthError, match="already holds 3 samples"):
        synth_dataset(tmp_path / "one", splits, options, progress=False)
    before = (tmp_path / "one" / "train" / "0" / "motion.npy").stat().st_mtime_ns
    (tmp_path / "one" / "train" / "2" / "motion.npy").unlink()  # an interrupted sample
    synth_dataset(tmp_path / "one", splits, options, resume=True, workers=1, progress=False)
    assert (tmp_path / "one" / "train" / "0" / "motion.npy").stat().st_mtime_ns == before
    np.testing.assert_array_equal(
        np.load(tmp_path / "one" / "train" / "2" / "motion.npy"),
        ConductorMotionDataset(tmp_path / "two", "train")[2].motion,
    )
    manifest = json.loads((tmp_path / "one" / "synth.json").read_text())
    assert manifest["splits"] == splits and manifest["seconds"] == 4


def test_cli_synth_end_to_end(tmp_path):
    out = tmp_path / "synth"
    command = [sys.executable, "-m", "vconductor", "data", "synth", str(out)]
    sizes = ["--samples", "3", "--seconds", "3", "--seed", "7", "--splits", "train:2,val:1"]
    cmd = [*command, *sizes, "--workers", "1", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ds = ConductorMotionDataset(out, "train")
    assert len(ds) == 2 and ds.seconds == 3 and len(ConductorMotionDataset(out, "val")) == 1
    meta = json.loads((out / "train" / "0" / "meta.json").read_text())
    assert meta["seed"] == [7, "train", 0] and meta["meter"] in ("2/4", "3/4", "4/4")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "use --overwrite or --resume" in again.stderr
    bad = subprocess.run(
        cmd[:5] + [str(out), "--splits", "train:2", "--samples", "5"], capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: --samples 5 differs")
    check = subprocess.run(
        [sys.executable, "-m", "vconductor", "data", "check", str(out)], capture_output=True, text=True
    )
    assert check.returncode == 0 and "train: 2 samples of 3 s" in check.stdout
