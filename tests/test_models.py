"""The paper's networks: architecture, official checkpoint parity, and clear errors for wrong files."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import (
    FIXTURES,
    OFFICIAL_GENERATOR,
    OFFICIAL_M2SNET,
    OFFICIAL_M2SNET_TEST,
    randomized,
    requires_shared,
)
from vconductor.models import (
    CheckpointError,
    Discriminator,
    Generator,
    M2SNet,
    MotionEncoder,
    MusicEncoder,
    load_generator,
    load_m2snet,
    save_checkpoint,
)
from vconductor.models.checkpoints import checkpoint_kind, read_state_dict
from vconductor.models.layers import reflect_pad_time


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_official_networks():
    assert n_params(MusicEncoder()) == 71_104
    unused_fcn = 32 * 256 + 32  # the official motion encoder's never-used `fcn` layer is not rebuilt
    assert n_params(MotionEncoder()) == 78_702 - unused_fcn
    assert n_params(M2SNet()) == 162_287 - unused_fcn
    assert n_params(Generator()) == 381_146
    assert n_params(Discriminator()) == 52_641


@pytest.mark.parametrize("seconds", [5, 30])
@pytest.mark.parametrize("trim", [0, 1, 2])
def test_generator_shapes_follow_the_official_length_rule(seconds, trim):
    g = Generator().eval()
    with torch.inference_mode():
        out = g(torch.rand(2, 90 * seconds - trim, 128), torch.randn(2, seconds, 8))
    assert out.shape == (2, 30 * seconds, 13, 2)
    assert (out > 0).all() and (out < 1).all()


def test_generator_refuses_noise_that_does_not_cover_the_music():
    with pytest.raises(ValueError, match="noise covers"):
        Generator().eval()(torch.rand(1, 90 * 6, 128), torch.randn(1, 5, 8))


def test_discriminator_pools_900_frames_to_72_steps():
    d = Discriminator()
    assert d.conv(torch.rand(3, 26, 900)).shape == (3, 64, 72)
    assert d(torch.rand(3, 900, 13, 2)).shape == (3, 1)


def test_feature_maps_match_the_official_count_and_shapes():
    mel, motion = torch.rand(1, 900, 128), torch.rand(1, 300, 13, 2)
    music = [f.shape for f in MusicEncoder().eval().features(mel)]
    assert music == [(1, 128, 900), (1, 1024, 900), (1, 1024, 300), (1, 512, 300), (1, 64, 300)]
    moves = [f.shape for f in MotionEncoder().eval().features(motion)]
    assert moves == [(1, 26, 300)] + [(1, 416, 300)] * 10 + [(1, 64, 300)]


def test_adjacency_is_column_normalised_with_self_loops():
    a = MotionEncoder().adjacency[0]
    assert torch.allclose(a.sum(0), torch.ones(13))
    assert (torch.diag(a) > 0).all()
    assert a[0, 5] > 0 and a[5, 0] > 0 and a[0, 9] == 0


@pytest.mark.parametrize("length,pad", [(10, 3), (10, 9), (5, 12), (3, 40), (2, 7), (1, 4)])
def test_reflect_padding_matches_torch_and_extends_numpy_style(length, pad):
    x = torch.arange(length, dtype=torch.float32).view(1, 1, length)
    got = reflect_pad_time(x, pad)
    if pad < length:
        assert torch.equal(got, F.pad(x, (pad, pad), mode="reflect"))
    mode = "reflect" if length > 1 else "edge"
    assert np.array_equal(got[0, 0].numpy(), np.pad(x[0, 0].numpy(), pad, mode=mode))


def test_vconductor_checkpoint_round_trip(tmp_path):
    g = randomized(Generator(), seed=3)
    save_checkpoint(g, tmp_path / "g.pt", "generator", step=7)
    loaded = load_generator(tmp_path / "g.pt")
    assert not loaded.training
    mel, z = torch.rand(1, 450, 128), torch.randn(1, 5, 8)
    with torch.inference_mode():
        assert torch.equal(loaded(mel, z), g(mel, z))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pt"]  # written atomically, no temporary left


def test_checkpoint_kind_from_metadata_then_parameter_names(tmp_path):
    save_checkpoint(Discriminator(), tmp_path / "d.pt", "discriminator")
    assert checkpoint_kind(*read_state_dict(tmp_path / "d.pt")) == "discriminator"
    for kind, model in (("generator", Generator()), ("m2snet", M2SNet()), ("discriminator", Discriminator())):
        torch.save(model.state_dict(), tmp_path / "plain.pt")
        assert checkpoint_kind(*read_state_dict(tmp_path / "plain.pt")) == kind
    assert checkpoint_kind({"layer1.weight": torch.zeros(1)}, {}) is None
    assert checkpoint_kind({"layer1.weight": torch.zeros(1)}, {"kind": "m2snet"}) == "m2snet"


def test_wrong_kind_and_foreign_files_get_clear_errors(tmp_path):
    save_checkpoint(randomized(M2SNet()), tmp_path / "m.pt", "m2snet")
    with pytest.raises(CheckpointError, match="m2snet checkpoint, not a generator"):
        load_generator(tmp_path / "m.pt")
    torch.save(M2SNet().state_dict(), tmp_path / "plain_m2snet.pt")
    with pytest.raises(CheckpointError, match="looks like an M2S-Net checkpoint") as err:
        load_generator(tmp_path / "plain_m2snet.pt")
    assert "119 missing keys: noise_upsampler." in str(err.value)
    assert "unexpected keys: motion_encoder." in str(err.value)

    (tmp_path / "noise.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="not a loadable PyTorch weights file"):
        load_generator(tmp_path / "noise.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "absent.pt")
    torch.save({"weights": [1, 2, 3]}, tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="does not hold a state_dict"):
        load_generator(tmp_path / "list.pt")


class NotAllowed:  # an arbitrary object: weights_only loading must refuse it
    pass


def test_checkpoints_with_python_objects_are_refused(tmp_path):
    torch.save({"state_dict": Generator().state_dict(), "obj": NotAllowed()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_generator(tmp_path / "evil.pt")


def test_shape_mismatch_names_the_key_and_both_shapes(tmp_path):
    state = Generator().state_dict()
    state["decoder.linear.weight"] = torch.zeros(32, 64)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(
        CheckpointError, match=r"decoder\.linear\.weight: file \(32, 64\) vs model \(64, 64\)"
    ):
        load_generator(tmp_path / "bad.pt")


# --- parity with the official code (reference fixtures) ------------------------------------------------------


@requires_shared
@pytest.mark.parametrize("case", ["generator_case1", "generator_case2"])
def test_generator_matches_official_outputs(official_generator, case):
    d = np.load(FIXTURES / f"{case}.npz")
    g = official_generator
    mel, z = torch.from_numpy(d["mel"]), torch.from_numpy(d["noise"])
    with torch.inference_mode():
        music, noise = g.music_encoder(mel), g.noise_upsampler(z)
        stages = {
            "music_encoder_out": music,
            "noise_branch_out": noise,
            "dilated_cnn_out": g.decoder.temporal_features(torch.cat([music, noise], 2)),
            "motion": g(mel, z),
        }
    for key, value in stages.items():
        err = np.abs(value.numpy() - d[key]).max()
        assert err <= 1e-4, f"{case} {key}: max abs error {err}"


@requires_shared
@pytest.mark.parametrize("prefix,path", [("", OFFICIAL_M2SNET), ("test_", OFFICIAL_M2SNET_TEST)])
def test_m2snet_matches_official_outputs(prefix, path):
    d = np.load(FIXTURES / "m2snet_case.npz")
    net = load_m2snet(path)
    mel = torch.from_numpy(d["mel"])
    with torch.inference_mode():
        assert np.abs(net.music_encoder(mel).numpy() - d[prefix + "music_features"]).max() <= 1e-4
        for kind in ("pos", "neg"):
            motion = torch.from_numpy(d[f"motion_{kind}"])
            feats = net.motion_encoder(motion).numpy()
            assert np.abs(feats - d[f"{prefix}motion_features_{kind}"]).max() <= 1e-4
            assert np.abs(net(mel, motion).numpy() - d[f"{prefix}sync_prob_{kind}"]).max() <= 1e-4


@requires_shared
def test_official_file_is_refused_by_the_wrong_loader():
    with pytest.raises(CheckpointError, match="M2S-GAN generator checkpoint"):
        load_m2snet(OFFICIAL_GENERATOR)
    with pytest.raises(CheckpointError, match="M2S-Net checkpoint"):
        load_generator(OFFICIAL_M2SNET)


@requires_shared
def test_tampered_duplicate_keys_are_detected(tmp_path):
    state = torch.load(OFFICIAL_GENERATOR, map_location="cpu", weights_only=True)
    state["tcn.TCN.tcn.tcn.network.2.net.0.bias"] = state["tcn.TCN.tcn.tcn.network.2.net.0.bias"] + 1
    torch.save(state, tmp_path / "tampered.pt")
    with pytest.raises(CheckpointError, match="duplicate keys .* differ"):
        load_generator(tmp_path / "tampered.pt")
