"""Stage 1 (M2S-Net) training: pairs, curriculum, validation accuracy, checkpoints, CLI."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vconductor.training.pairs import PairSpec, build_pairs, draw_starts, other_recording_order

REST_POSE = np.array(
    [
        [0.5, 0.35],
        [0.52, 0.33],
        [0.48, 0.33],
        [0.54, 0.34],
        [0.46, 0.34],
        [0.6, 0.45],
        [0.4, 0.45],
        [0.65, 0.58],
        [0.35, 0.58],
        [0.62, 0.5],
        [0.38, 0.5],
        [0.56, 0.75],
        [0.44, 0.75],
    ],
    dtype=np.float32,
)


def make_synced_dataset(root: Path, seconds: int = 12, counts=(("train", 8), ("val", 4)), seed: int = 0):
    """A tiny, truly synchronised dataset: clicks in the mel at each beat, the wrists' ictus on the beat.

    The tempo of each recording drifts, so two windows of one recording are not in phase.
    """
    rng = np.random.default_rng(seed)
    frames = seconds * 30
    t = np.arange(frames) / 30
    tm = np.arange(frames * 3) / 90
    for split, n in counts:
        for i in range(n):
            bpm = rng.uniform(70, 140) * (1 + 0.15 * np.sin(2 * np.pi * t / rng.uniform(4, 9)))
            phase = np.cumsum(bpm / 60 / 30) + rng.uniform()
            beats = np.flatnonzero(np.diff(np.floor(phase)) > 0) / 30
            mel = 0.2 + 0.05 * rng.random((frames * 3, 128))
            for b in beats:
                after = tm - b
                env = np.where(after >= 0, np.exp(-np.clip(after, 0, None) / 0.08), 0.0)
                mel += 0.6 * env[:, None] * rng.uniform(0.6, 1.0, 128)[None]
            swing = 0.5 * (1 - np.cos(2 * np.pi * phase))  # 0 at the beat (ictus), 1 between beats
            motion = np.repeat(REST_POSE[None], frames, axis=0).copy()
            for wrist, elbow, side in ((10, 8, -1), (9, 7, 1)):
                motion[:, wrist, 1] += -0.12 * swing + 0.06
                motion[:, wrist, 0] += side * 0.03 * np.sin(2 * np.pi * phase / 2)
                motion[:, elbow, 1] += -0.05 * swing + 0.03
            motion += rng.normal(0, 0.002, motion.shape)
            d = root / split / str(i)
            d.mkdir(parents=True, exist_ok=True)
            np.save(d / "mel.npy", np.clip(mel, 0, 1).astype(np.float32))
            np.save(d / "motion.npy", motion.astype(np.float32))
    return root


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_synced_dataset(tmp_path_factory.mktemp("synced"))


def test_super_hard_shifts_lie_in_half_to_five_seconds_unless_official():
    gen = torch.Generator().manual_seed(0)
    spec = PairSpec(30, 10, 10)
    shifts = np.array([np.subtract(*draw_starts(spec, "super_hard", gen)[::-1]) for _ in range(2000)])
    assert shifts.min() >= 0.5 and shifts.max() < 5.0 and shifts.min() < 0.6 and shifts.max() > 4.9
    official = PairSpec(30, 10, 10, official_super_hard=True)
    shifts = np.array([np.subtract(*draw_starts(official, "super_hard", gen)[::-1]) for _ in range(2000)])
    assert shifts.min() < 0.05 and shifts.max() < 4.5


def test_hard_negatives_start_at_least_the_gap_apart_and_fit():
    gen = torch.Generator().manual_seed(1)
    spec = PairSpec(12, 4, 4)
    for _ in range(500):
        a, b = draw_starts(spec, "hard", gen)
        assert b - a >= 4 and a >= 0 and b + 4 <= 12


def test_easy_negatives_never_pair_one_recording_with_itself():
    rec = torch.tensor([0, 0, 1, 1, 2, 2])
    order = other_recording_order(rec)
    assert sorted(order.tolist()) == list(range(6)) and not (rec[order] == rec).any()


def test_pairs_cut_music_and_motion_at_the_same_frame():
    mel = torch.arange(2 * 540, dtype=torch.float32).reshape(2, 540, 1).expand(2, 540, 128)
    motion = torch.arange(2 * 180, dtype=torch.float32).reshape(2, 180, 1, 1).expand(2, 180, 13, 2)
    gen = torch.Generator().manual_seed(3)
    m1, y1, m2, y2 = build_pairs(mel, motion, torch.tensor([0, 1]), PairSpec(6, 2, 2), "hard", gen)
    assert m1.shape == (2, 180, 128) and y1.shape == (2, 60, 13, 2)
    for m, y in ((m1, y1), (m2, y2)):
        assert torch.equal(m[:, ::3, 0] % 540, (y[:, :, 0, 0] % 180) * 3)
    assert (y2[:, 0, 0, 0] - y1[:, 0, 0, 0]).min() >= 60  # hard: at least the gap (2 s) apart


def _cpu():
    from vconductor.training.distributed import DistContext

    return DistContext(0, 1, torch.device("cpu"))


def _config(data, out, **kw):
    from vconductor.training.config import SyncConfig

    base = dict(
        data_root=str(data),
        out_dir=str(out),
        sample_length=6,
        clip_length=2,
        super_hard_shift_s=(0.2, 2),
        batch_size=8,
        tensorboard=False,
        progress=False,
        device="cpu",
        seed=0,
    )
    return SyncConfig(**{**base, **kw})


def test_curriculum_starts_with_easy_negatives(tiny_data, tmp_path):
    from vconductor.training.sync_stage import SyncTrainer

    trainer = SyncTrainer(_config(tiny_data, tmp_path, easy_epochs=2, mode="super_hard"), _cpu())
    assert [trainer.mode_of_epoch(e) for e in range(4)] == ["easy", "easy", "super_hard", "super_hard"]


def test_short_run_learns_sync_and_saves_a_loadable_m2snet(tiny_data, tmp_path):
    from vconductor.models import load_m2snet
    from vconductor.models.checkpoints import read_state_dict
    from vconductor.training.sync_stage import SyncTrainer

    trainer = SyncTrainer(
        _config(tiny_data, tmp_path, max_steps=40, checkpoint_every=20, eval_every=40), _cpu()
    )
    before = trainer.evaluate()
    after = trainer.run()
    assert before["val/acc_hard"] == pytest.approx(0.5, abs=0.1)
    assert after["val/acc_hard"] > 0.65 and after["val/acc_easy"] > 0.65
    load_m2snet(tmp_path / "m2snet.pt")
    assert read_state_dict(tmp_path / "m2snet.pt")[1]["step"] == 40


def test_cli_errors_are_one_line(tiny_data, tmp_path, capsys):
    from vconductor.cli import main

    assert main(["train", "sync", str(tiny_data), "--out", str(tmp_path), "--clip-length", "11", "-q"]) == 2
    err = capsys.readouterr().err
    assert "at most a third of sample_length" in err and err.count("\n") == 1
    assert main(["train", "sync", str(tmp_path / "nowhere"), "--out", str(tmp_path), "-q"]) == 1
    assert "dataset folder not found" in capsys.readouterr().err
    gan = ["train", "gan", str(tiny_data), "--sync", str(tmp_path / "none.pt"), "--out", str(tmp_path)]
    assert main([*gan, "--sample-length", "6", "--batch-size", "4", "-q"]) == 1
    assert "checkpoint not found" in capsys.readouterr().err
