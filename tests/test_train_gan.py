"""Stage 2 (M2S-GAN) training: frozen encoders, gradient penalties, saved G/D that the product loads."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from test_train_sync import make_synced_dataset
from vconductor.models import M2SNet, load_discriminator, load_generator, save_checkpoint
from vconductor.training.config import GanConfig
from vconductor.training.distributed import DistContext
from vconductor.training.gan_stage import GanTrainer, gradient_penalty

CPU = DistContext(0, 1, torch.device("cpu"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    data = make_synced_dataset(root / "data", seconds=6, counts=(("train", 4), ("val", 2)))
    torch.manual_seed(5)
    m2snet = M2SNet()
    with torch.no_grad():  # non-default statistics, so a moving running_mean is visible
        for name, buf in m2snet.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.1)
    save_checkpoint(m2snet, root / "m2snet.pt", "m2snet")
    return data, root / "m2snet.pt", m2snet


def config(data, sync, out, **kw) -> GanConfig:
    base = dict(
        data_root=str(data),
        out_dir=str(out),
        sync_checkpoint=str(sync),
        sample_length=3,
        batch_size=2,
        max_steps=2,
        n_critic=2,
        checkpoint_every=2,
        eval_batches=1,
        tensorboard=False,
        progress=False,
        device="cpu",
    )
    return GanConfig(**{**base, **kw})


def test_frozen_encoders_keep_weights_and_batchnorm_statistics(setup, tmp_path):
    data, sync, m2snet = setup
    trainer = GanTrainer(config(data, sync, tmp_path / "run"), CPU)
    decoder_before = {k: v.clone() for k, v in trainer.generator.decoder.state_dict().items()}
    result = trainer.run()
    for name, value in m2snet.music_encoder.state_dict().items():
        assert torch.equal(trainer.generator.music_encoder.state_dict()[name], value), name
    for name, value in m2snet.motion_encoder.state_dict().items():
        assert torch.equal(trainer.motion_encoder.state_dict()[name], value), name
    assert any(
        not torch.equal(decoder_before[k], v) for k, v in trainer.generator.decoder.state_dict().items()
    )
    assert {"val/rde", "val/sdp", "val/sync_loss", "val/w_dis"} <= result.keys()


def test_official_encoder_bn_flag_lets_statistics_move_but_not_weights(setup, tmp_path):
    data, sync, m2snet = setup
    trainer = GanTrainer(config(data, sync, tmp_path / "run", official_encoder_bn=True, max_steps=1), CPU)
    trainer.run()
    ours = trainer.generator.music_encoder.state_dict()
    ref = m2snet.music_encoder.state_dict()
    assert not torch.equal(ours["stage1.0.bn.running_mean"], ref["stage1.0.bn.running_mean"])
    assert torch.equal(ours["stage1.0.conv.weight"], ref["stage1.0.conv.weight"])


def test_gradient_penalties():
    w = torch.randn(1, 4, 13, 2)
    w /= w.norm()  # a linear critic with a unit-norm gradient for every sample
    critic = lambda x: (x * w).flatten(1).sum(1, keepdim=True)  # noqa: E731
    real, fake, alpha = torch.randn(3, 4, 13, 2), torch.randn(3, 4, 13, 2), torch.rand(3, 1, 1, 1)
    assert gradient_penalty(critic, real, fake, alpha, "standard").item() == pytest.approx(0.0, abs=1e-10)
    # official: the squared Frobenius norm of the whole batch's gradient, centred at 0
    assert gradient_penalty(critic, real, fake, alpha, "official").item() == pytest.approx(3.0, rel=1e-5)


def test_saved_generator_runs_in_vconductor_generate(setup, tmp_path):
    data, sync, _ = setup
    out = tmp_path / "run"
    GanTrainer(config(data, sync, out, max_steps=1), CPU).run()
    load_discriminator(out / "discriminator.pt")
    generator = load_generator(out / "generator.pt")
    assert generator(torch.rand(1, 270, 128), torch.randn(1, 3, 8)).shape == (1, 90, 13, 2)
    t = np.arange(22050 * 3) / 22050
    sf.write(
        tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0), 22050
    )
    command = [sys.executable, "-m", "vconductor", "generate", str(tmp_path / "tone.wav")]
    options = [
        "-o",
        str(tmp_path / "tone.npz"),
        "--model",
        str(out / "generator.pt"),
        "--device",
        "cpu",
        "-q",
    ]
    result = subprocess.run([*command, *options], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "tone.npz")["keypoints"].shape == (90, 13, 2)


def test_resumed_gan_run_matches_an_uninterrupted_one(setup, tmp_path):
    data, sync, _ = setup
    whole = GanTrainer(config(data, sync, tmp_path / "whole", max_steps=4), CPU)
    whole.run()
    GanTrainer(config(data, sync, tmp_path / "part", max_steps=2), CPU).run()
    resumed = GanTrainer(config(data, sync, tmp_path / "part", max_steps=4), CPU)
    resumed.run(resume=True)
    for name in ("generator", "critic"):
        a, b = getattr(whole, name).state_dict(), getattr(resumed, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


@pytest.mark.parametrize("extra", [[], ["--no-feature-cache", "--gp", "standard", "--fresh-fakes"]])
def test_gan_command_line(setup, tmp_path, extra):
    from vconductor.cli import main

    data, sync, _ = setup
    command = ["train", "gan", str(data), "--sync", str(sync), "--out", str(tmp_path)]
    tiny = ["--sample-length", "3", "--batch-size", "2", "--max-steps", "1", "--n-critic", "2"]
    args = [*command, *tiny, "-q", "--no-tensorboard", *extra]
    assert main(args) == 0
    assert load_generator(tmp_path / "generator.pt") is not None
