"""Table-2 baselines: features derived from the mel, and a short training run of each kind."""

import numpy as np
import pytest
import torch

from test_train_sync import make_synced_dataset
from vconductor.models.checkpoints import CheckpointError, read_state_dict
from vconductor.training.baselines import load_baseline
from vconductor.training.baselines.features import beat_sawtooth, khmm_features, mfcc
from vconductor.training.baselines.trainer import BaselineTrainer
from vconductor.training.config import BaselineConfig
from vconductor.training.distributed import DistContext


def test_features_have_the_motion_rate_and_find_the_clicks():
    mel = np.full((270, 128), 0.2, np.float32)
    mel[::45] = 0.9  # a click every 0.5 s (90 Hz mel)
    assert mfcc(mel).shape == (90, 20)
    feats = khmm_features(mel)
    assert feats.shape == (90, 3) and np.isfinite(feats).all()
    saw = feats[:, 2]
    # the sawtooth restarts at each click: 15 motion frames per beat
    drops = np.flatnonzero(np.diff(saw) < -0.5) + 1
    assert np.all(np.diff(drops) == 15)


def test_sawtooth_rises_from_zero_to_one_between_beats():
    onset = np.zeros(100)
    onset[[10, 50]] = 1.0
    saw = beat_sawtooth(onset, rate=10, min_gap_s=0.5)
    assert saw[10] == 0 and saw[49] == pytest.approx(39 / 40) and saw[60] == 1.0 and saw[5] == 0


@pytest.mark.parametrize("kind", ["lstm", "cnn_lstm", "gan"])
def test_each_baseline_trains_and_saves(kind, tmp_path_factory):
    data = make_synced_dataset(tmp_path_factory.mktemp(kind), seconds=6, counts=(("train", 4), ("val", 2)))
    out = tmp_path_factory.mktemp("run")
    cfg = BaselineConfig(
        data_root=str(data),
        out_dir=str(out),
        kind=kind,
        sample_length=3,
        batch_size=2,
        max_steps=3,
        n_critic=2,
        tensorboard=False,
        progress=False,
        device="cpu",
    )
    trainer = BaselineTrainer(cfg, DistContext(0, 1, torch.device("cpu")))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    result = trainer.run()
    assert {"val/mse", "val/rde", "val/sdp"} <= result.keys()
    state, meta = read_state_dict(out / f"baseline_{kind}.pt")
    assert meta["kind"] == f"baseline-{kind}" and meta["step"] == 3
    assert any(not torch.equal(before[k], state[k]) for k in before)
    # the saved baseline runs as a motion source (what `vconductor evaluate -m baseline:PATH` uses)
    mel = np.asarray(trainer.val_set[0][0].numpy())
    generate = load_baseline(out / f"baseline_{kind}.pt", device="cpu")
    motion = generate(mel)
    assert motion.shape == (len(mel) // 3, 13, 2) and np.isfinite(motion).all()


def test_loading_a_generator_as_a_baseline_is_refused(random_generator_file):
    with pytest.raises(CheckpointError, match="not a baseline checkpoint"):
        load_baseline(random_generator_file)


def test_baseline_command_line(tmp_path):
    from vconductor.cli import main

    data = make_synced_dataset(tmp_path / "data", seconds=6, counts=(("train", 2), ("val", 1)))
    command = ["train", "baseline", str(data), "--kind", "lstm", "--out", str(tmp_path / "run")]
    tiny = ["--sample-length", "3", "--batch-size", "2", "--max-steps", "1", "-q", "--no-tensorboard"]
    args = [*command, *tiny]
    assert main(args) == 0 and (tmp_path / "run" / "baseline_lstm.pt").is_file()
