"""Properties of the Table 2 metrics, the paper definitions, set and seam metrics, and their errors."""

import numpy as np
import pytest

from conftest import FIXTURES, randomized, requires_shared
from test_metrics_parity import motion_like, one_torch_thread  # noqa: F401 (autouse fixture)
from vconductor import metrics
from vconductor.models import M2SNet, save_checkpoint


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(5)
    return motion_like(rng, 3, 300), motion_like(rng, 3, 300)


@pytest.fixture(scope="module")
def encoder():
    return randomized(M2SNet(), seed=4).motion_encoder


@pytest.mark.parametrize("definition", metrics.DEFINITIONS)
def test_identical_motion_scores_zero_error_and_sdp_100(pair, encoder, definition):
    real = pair[0]
    for fn in (metrics.mse, metrics.rde, metrics.sce):
        assert fn(real, real, definition) == 0.0
    assert metrics.sync_error(real, real, encoder, definition) == 0.0
    assert metrics.sdp(real, real, definition) == pytest.approx(100.0)


@pytest.mark.parametrize("definition", metrics.DEFINITIONS)
def test_errors_are_positive_and_still_motion_has_sdp_0(pair, encoder, definition):
    real, fake = pair
    for fn in (metrics.mse, metrics.rde, metrics.sce):
        assert fn(real, fake, definition) > 0
    assert metrics.sync_error(real, fake, encoder, definition) > 0
    still = np.repeat(real.mean(axis=1, keepdims=True), real.shape[1], axis=1)
    assert metrics.sdp(real, still, definition) == pytest.approx(0.0, abs=1e-9)
    assert metrics.sdp(real, 2 * (real - still) + still, definition) == pytest.approx(200.0)  # SDP is linear


@pytest.mark.parametrize("definition", metrics.DEFINITIONS)
def test_per_sample_values_are_the_single_sample_values(pair, encoder, definition):
    real, fake = pair
    for fn in (metrics.mse, metrics.rde, metrics.sce, metrics.sdp):
        per = fn(real, fake, definition, per_sample=True)
        single = [fn(r, f, definition) for r, f in zip(real, fake, strict=True)]
        np.testing.assert_allclose(per, single, rtol=1e-12)
    real, fake = real[:2, :150], fake[:2, :150]  # the ST-GCN is the slow part: keep it small
    per = metrics.sync_error(real, fake, encoder, definition, per_sample=True)
    single = [metrics.sync_error(r, f, encoder, definition) for r, f in zip(real, fake, strict=True)]
    np.testing.assert_allclose(per, single, rtol=1e-5)


def test_batch_reductions_follow_the_official_code(pair, encoder):
    real, fake = pair
    # element means: the batch value is the mean of the per-sample values
    assert metrics.mse(real, fake) == pytest.approx(metrics.mse(real, fake, per_sample=True).mean())
    se = metrics.sync_error(real, fake, encoder, per_sample=True).mean()
    assert metrics.sync_error(real, fake, encoder) == pytest.approx(se, rel=1e-6)
    # RDE and SCE take the log of the batch mean, not the mean of the logs
    rde_n = np.expm1(metrics.rde(real, fake, per_sample=True)) / 1e7
    assert metrics.rde(real, fake) == pytest.approx(np.log1p(rde_n.mean() * 1e7))
    assert metrics.rde(real, fake) != pytest.approx(metrics.rde(real, fake, per_sample=True).mean())
    sce_n = np.expm1(metrics.sce(real, fake, per_sample=True)) / 1e7
    assert metrics.sce(real, fake) == pytest.approx(np.log1p(sce_n.mean() * 1e7))
    # SDP is a ratio of mean SDs
    assert metrics.sdp(real, fake) == pytest.approx(metrics.sd(fake).mean() / metrics.sd(real).mean() * 100)


def test_paper_definitions_are_the_printed_formulas(pair):
    real, fake = pair
    r, f = real[:1].astype(np.float64), fake[:1].astype(np.float64)
    assert metrics.mse(r, f, "paper") == pytest.approx(((r - f) ** 2).sum())  # eq. 4: squared norm
    x = r[0].reshape(len(r[0]), 26)
    sd = np.sqrt(((x - x.mean(0)) ** 2).sum() / (len(x) - 1))  # eq. 9
    assert metrics.sd(r, "paper")[0] == pytest.approx(sd)
    # eq. 7: PSDs summed over the 26 series, squared L2 norm over every bin above 0.7 Hz
    freqs, psd_r = metrics.motion_psd(r)
    _, psd_f = metrics.motion_psd(f)
    keep = freqs > 0.7
    expected = np.log(1e7 * ((psd_r[0].sum(0) - psd_f[0].sum(0))[keep] ** 2).sum() + 1)
    assert metrics.rde(r, f, "paper") == pytest.approx(expected)
    # eq. 8: summed speeds |dx| pooled over 2 s every 1 s, squared L2 norm
    speed = lambda m: np.abs(np.diff(m[0].reshape(len(m[0]), 26), axis=0)).sum(1)  # noqa: E731
    pooled = lambda s: np.array([s[a : a + 60].mean() for a in range(0, len(s) - 59, 30)])  # noqa: E731
    expected = np.log(1e7 * ((pooled(speed(r)) - pooled(speed(f))) ** 2).sum() + 1)
    assert metrics.sce(r, f, "paper") == pytest.approx(expected)


def test_official_sce_cancels_opposite_joint_motion_but_the_paper_does_not():
    t = np.arange(300) / 30
    still = np.full((300, 13, 2), 0.5)
    opposite = still.copy()
    opposite[:, 9, 0] += 0.05 * np.sin(2 * np.pi * t)  # the wrists mirror each other
    opposite[:, 10, 0] -= 0.05 * np.sin(2 * np.pi * t)
    assert metrics.sce(still, opposite) == pytest.approx(0.0, abs=1e-9)  # signed mean: they cancel
    assert metrics.sce(still, opposite, "paper") > 1.0


def test_single_motion_and_batch_inputs_and_errors(pair):
    real, fake = pair
    assert metrics.mse(real[0], fake[0]) == pytest.approx(metrics.mse(real[:1], fake[:1]))
    with pytest.raises(metrics.MetricError, match="same shape"):
        metrics.mse(real, fake[:, :100])
    with pytest.raises(metrics.MetricError, match=r"\(T, 13, 2\)"):
        metrics.rde(real[..., 0], fake[..., 0])
    with pytest.raises(metrics.MetricError, match="definition"):
        metrics.sce(real, fake, definition="pdf")
    with pytest.raises(metrics.MetricError, match="at least 60 frames"):
        metrics.sce(real[:, :59], fake[:, :59])
    with pytest.raises(metrics.MetricError, match="non-finite"):
        metrics.mse(np.full_like(real, np.nan), fake)


def test_sync_error_without_the_test_m2snet_says_how_to_register_it(pair, tmp_path, monkeypatch):
    monkeypatch.setenv("VCONDUCTOR_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(metrics.MetricError, match="vconductor models add m2snet-test-official"):
        metrics.sync_error(*pair)
    with pytest.raises(metrics.MetricError, match="'mine' is neither"):
        metrics.sync_error(*pair, encoder="mine")


def test_sync_error_by_registered_name_and_path(pair, encoder, tmp_path, monkeypatch):
    from vconductor import registry

    monkeypatch.setenv("VCONDUCTOR_HOME", str(tmp_path / "home"))
    net = randomized(M2SNet(), seed=4)
    save_checkpoint(net, tmp_path / "net.pt", "m2snet")
    registry.add_model("my-m2snet", tmp_path / "net.pt")
    expected = metrics.sync_error(*pair, encoder=net)
    assert metrics.sync_error(*pair, encoder="my-m2snet") == pytest.approx(expected, rel=1e-6)
    assert metrics.sync_error(*pair, encoder=tmp_path / "net.pt") == pytest.approx(expected, rel=1e-6)


def test_w_dis_is_the_mean_critic_gap(pair):
    import torch

    from vconductor.models import Discriminator

    critic = randomized(Discriminator(), seed=2)
    real, fake = pair
    with torch.no_grad():
        d_real = critic(torch.from_numpy(real)).numpy().ravel()
        d_fake = critic(torch.from_numpy(fake)).numpy().ravel()
    assert metrics.w_dis(real, fake, critic) == pytest.approx((d_real - d_fake).mean(), rel=1e-5)
    assert metrics.w_dis(real, real, critic) == 0.0
    with pytest.raises(metrics.MetricError, match="needs a discriminator"):
        metrics.w_dis(real, fake, None)


def test_diversity_grows_with_the_spread_of_a_set():
    rng = np.random.default_rng(0)
    base = motion_like(rng, 1, 300)
    clones = np.repeat(base, 4, axis=0)
    varied = motion_like(rng, 4, 300)
    assert metrics.diversity(clones) == pytest.approx(0.0, abs=1e-12)
    assert metrics.diversity(varied) > 0.05
    assert np.isnan(metrics.diversity(base))


def test_seam_jerk_finds_independent_chunks():
    rng = np.random.default_rng(1)
    smooth = motion_like(rng, 1, 3 * 1800)[0]
    seamed = smooth.copy()
    seamed[1800:3600] += 0.02  # a jump at each chunk boundary, as independent 60 s chunks give
    seamed[3600:] -= 0.02
    assert metrics.seam_jerk(smooth).step_ratio < 1.5
    jumps = metrics.seam_jerk(seamed)
    assert len(jumps.boundary_steps) == 2 and jumps.step_ratio > 2 and jumps.jerk_ratio > 2
    with pytest.raises(metrics.MetricError, match="no chunk boundary"):
        metrics.seam_jerk(smooth[:1000])


@requires_shared
def test_seam_jerk_of_the_official_60s_chunking():
    """The official test_unseen.py output on the 150 s fixture track jumps at 60 s and 120 s; mid-chunk it does not."""
    motion = np.load(FIXTURES / "synth_3tempo_full_motion.npz")["motion"][:4500]  # without the zero tail
    seams = metrics.seam_jerk(motion)
    assert len(seams.boundary_steps) == 2 and seams.step_ratio > 2 and seams.jerk_ratio > 1.4
    assert metrics.seam_jerk(motion[900:]).step_ratio < 1  # "boundary" at 90 s, inside a chunk
