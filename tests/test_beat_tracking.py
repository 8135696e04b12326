"""Our beat tracker's network (vconductor.beat_tracking) and its training (`vconductor train beats`): size,
block inference equal to one pass, the weights file and its errors, and a real short training run on samples
rendered here by `vconductor beats-data build`, resumed exactly from its checkpoint."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from conftest import REPO, randomized
from vconductor.audio import HOP, SAMPLE_RATE
from vconductor.beat_tracking import FRAME_RATE, BeatNetworkConfig, pick_peaks
from vconductor.beat_tracking.network import BeatTCN, parameter_count
from vconductor.beat_tracking.torch_inference import array_activations, file_activations
from vconductor.beat_tracking.weights import load_beat_tracker, save_beat_tracker
from vconductor.models import CheckpointError, save_checkpoint
from vconductor.training.beat_samples import (
    BeatDataError,
    SampleFiles,
    cached_frames,
    frame_targets,
    list_samples,
    masked_bce,
    noisy,
    split_by_work,
)
from vconductor.training.beat_tracker import WEIGHTS_FILE, BeatTrainConfig, train_beats
from vconductor.training.config import ConfigError
from vconductor.training.distributed import DistContext

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "backend")}
TINY_WORKS = ["bach/bwv26.6.mxl", "bach/bwv6.6.mxl"]  # chorales: parsed in a fraction of a second


def _vconductor(*args, timeout=180) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "vconductor", *map(str, args)]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_the_network_is_small_and_gives_two_activations_per_frame():
    net = BeatTCN()
    assert parameter_count(net) < 1_000_000
    frames = torch.rand(2, 300, 128)
    with torch.no_grad():
        out = net.eval().activations(frames)
    assert out.shape == (2, 2, 300) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert net.cfg.context_frames / FRAME_RATE > 20.0  # it hears more than 20 s each side


def test_block_inference_equals_one_pass_over_a_long_input():
    torch.manual_seed(0)
    net = randomized(BeatTCN(), seed=3)
    frames = np.random.default_rng(0).random((5000, 128), dtype=np.float32)
    with torch.no_grad():
        whole = net.activations(torch.from_numpy(frames)[None])[0].T.numpy()
    for block in (700, 2048, 5000):
        blocks = array_activations(net, frames, block_frames=block)
        assert np.abs(blocks - whole).max() < 1e-5, block


def test_a_smaller_reach_than_the_network_has_would_differ():
    """The equality above is not trivial: blocks with too little context change the output."""
    torch.manual_seed(0)
    net = randomized(BeatTCN(BeatNetworkConfig(dilations=(1, 2, 4, 8, 16, 32, 64, 128))), seed=3)
    frames = np.random.default_rng(1).random((3000, 128), dtype=np.float32)
    exact = array_activations(net, frames, block_frames=500)
    short = BeatTCN(BeatNetworkConfig(dilations=(1, 2, 4, 8)))  # reports a much smaller context
    net.cfg = short.cfg
    assert np.abs(array_activations(net, frames, block_frames=500) - exact).max() > 1e-4


def test_activations_of_an_audio_file(tmp_path):
    clicks = np.zeros(SAMPLE_RATE * 6, np.float32)
    clicks[:: SAMPLE_RATE // 2] = 0.8  # 120 BPM
    path = tmp_path / "clicks.flac"
    soundfile.write(path, clicks, SAMPLE_RATE)
    act = file_activations(BeatTCN(), path, block_frames=100)
    assert act.shape == (1 + len(clicks) // HOP, 2) and np.isfinite(act).all()


def test_weights_round_trip(tmp_path):
    net = randomized(BeatTCN(BeatNetworkConfig(channels=16, dilations=(1, 2, 4))), seed=5)
    path = tmp_path / "beats.pt"
    save_beat_tracker(net, path, step=7)
    loaded, meta = load_beat_tracker(path)
    frames = torch.rand(1, 400, 128)
    assert meta["step"] == 7 and loaded.cfg == net.cfg and not loaded.training
    assert torch.equal(loaded.activations(frames), net.activations(frames))


def _load_error(path: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_beat_tracker(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message, message
    return message


def test_weights_errors_are_one_clear_line(tmp_path):
    assert "not found" in _load_error(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not a zip at all" * 10)
    assert "not a loadable PyTorch weights file" in _load_error(corrupt)
    other_kind = tmp_path / "generator.pt"
    save_checkpoint(torch.nn.Linear(3, 2), other_kind, "generator")
    assert "is a generator checkpoint, not beat tracker weights" in _load_error(other_kind)
    plain = tmp_path / "plain.pt"
    torch.save(BeatTCN().state_dict(), plain)
    assert "records no kind" in _load_error(plain)
    net = BeatTCN(BeatNetworkConfig(dilations=(1, 2)))
    mismatched = tmp_path / "mismatched.pt"
    save_checkpoint(net, mismatched, "beat_tracker", network=BeatNetworkConfig().to_dict(), features=None)
    assert "input features None" in _load_error(mismatched)
    from vconductor.beat_tracking import FEATURES_VERSION

    save_checkpoint(
        net, mismatched, "beat_tracker", network=BeatNetworkConfig().to_dict(), features=FEATURES_VERSION
    )
    assert "does not fit the beat tracker network it describes" in _load_error(mismatched)


def test_targets_are_widened_to_the_neighbouring_frames():
    target = frame_targets(np.array([0.0, 1.0, 100.0]), 200)
    beat = round(1.0 * FRAME_RATE)
    assert target[0] == 1.0 and target[1] == 0.5 and target[beat] == 1.0
    assert target[beat - 1] == target[beat + 1] == 0.5 and target.sum() == 1.5 + 2.0


def test_the_downbeat_loss_can_weigh_more_than_the_beat_loss():
    logits = torch.tensor([[[2.0, -1.0, 0.5]], [[-3.0, 1.0, 0.0]]]).reshape(1, 2, 3)
    targets = torch.tensor([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])  # the last frame is padding
    plain, (beat, downbeat) = masked_bce(logits, targets, mask)
    weighted, per_output = masked_bce(logits, targets, mask, downbeat_weight=2.0)
    assert torch.allclose(per_output, torch.stack([beat, downbeat]))
    assert plain == pytest.approx(float(beat + downbeat)) and weighted == pytest.approx(
        float(beat + 2 * downbeat)
    )
    expected_beat = (np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0))) / 2  # BCE of frames 0 and 1 only
    assert float(beat) == pytest.approx(expected_beat, rel=1e-6)
    with pytest.raises(ConfigError, match="downbeat_weight"):
        BeatTrainConfig(data_root="x", out_dir="y", downbeat_weight=0.0).validate()


def test_validation_takes_whole_works():
    def sample(work, i):
        return SampleFiles(f"{work}_{i}", work, Path("x.flac"), np.zeros(0), np.zeros(0))

    samples = [sample(w, i) for w, n in (("a", 10), ("b", 3), ("c", 2), ("d", 5)) for i in range(n)]
    train, val = split_by_work(samples, 0.25)
    assert val and train and not {s.work for s in train} & {s.work for s in val}
    assert len(val) <= 5 and {s.name for s in train + val} == {s.name for s in samples}
    assert split_by_work(samples, 0.25) == (train, val)
    assert split_by_work(samples, 0.01)[1]  # the smallest work when none fits
    with pytest.raises(BeatDataError, match="one work"):
        split_by_work([sample("a", i) for i in range(4)], 0.2)


def test_peak_picking_keeps_one_peak_per_gap():
    act = np.zeros(400, np.float32)
    act[[50, 52, 200, 300]] = [0.9, 0.8, 0.5, 0.1]
    assert np.allclose(pick_peaks(act, 0.3, 0.2), np.array([50, 200]) / FRAME_RATE)


@pytest.fixture(scope="module")
def tiny_beats_data(tmp_path_factory):
    pytest.importorskip(
        "music21", reason="the beats-data extra is not installed (pip install -e '.[beats-data]')"
    )
    from vconductor.beat_data.render import fluidsynth_executable, training_soundfonts

    fonts = [f for f in training_soundfonts() if f.name.startswith("TimGM6mb")] or training_soundfonts()
    if fluidsynth_executable() is None or not fonts:
        pytest.skip("fluidsynth or a training soundfont is missing (Debian: fluidsynth, timgm6mb-soundfont)")
    out = tmp_path_factory.mktemp("beats") / "data"
    works = [arg for work in TINY_WORKS for arg in ("--work", work)]
    done = _vconductor("beats-data", "build", out, "--max-seconds", 20, "--soundfont", fonts[0], *works, "-q")
    assert done.returncode == 0, done.stderr
    return out


def _train_args(data, out, steps):
    return [
        "train",
        "beats",
        data,
        "--out",
        out,
        "--max-steps",
        steps,
        "--batch-size",
        2,
        "--sample-length",
        4,
        "--checkpoint-every",
        10,
        "--eval-every",
        10,
        "--no-tensorboard",
        "-q",
        "--lr-decay",
        "constant",
    ]  # fmt: skip (a cosine schedule spans max_steps: extending a run changes it)


def _scalars(run: Path, tag: str) -> dict[int, float]:
    with open(run / "metrics.csv", newline="") as f:
        return {int(r["step"]): float(r["value"]) for r in csv.DictReader(f) if r["tag"] == tag}


def test_training_lowers_the_loss_and_resumes_exactly(tiny_beats_data, tmp_path):
    resumed = tmp_path / "resumed"
    first = _vconductor(*_train_args(tiny_beats_data, resumed, 10))
    assert first.returncode == 0, first.stderr
    again = _vconductor(*_train_args(tiny_beats_data, resumed, 20), "--resume")
    assert again.returncode == 0, again.stderr
    val_loss = _scalars(resumed, "val/loss")
    assert sorted(val_loss) == [0, 10, 20] and val_loss[20] < 0.5 * val_loss[0]
    split = json.loads((resumed / "split.json").read_text())
    assert split["train"] and split["val"] and not set(split["train"]) & set(split["val"])
    assert sorted(p.name for p in (tiny_beats_data / ".beat_features").rglob("*.npy"))  # features cached

    torch.set_num_threads(1)
    straight = tmp_path / "straight"
    cfg = BeatTrainConfig(str(tiny_beats_data), str(straight), max_steps=20, batch_size=2, sample_length=4.0,
                          checkpoint_every=10, eval_every=10, tensorboard=False, progress=False,
                          lr_decay="constant")  # fmt: skip
    train_beats(cfg, DistContext(0, 1, torch.device("cpu")))
    a, _ = load_beat_tracker(resumed / WEIGHTS_FILE)
    b, meta = load_beat_tracker(straight / WEIGHTS_FILE)
    assert meta["step"] == 20
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def test_training_can_start_from_the_packaged_weights(tiny_beats_data, tmp_path):
    """--init: the run starts from the shipped .npz (its step-0 validation is theirs, far better than a random
    start), the .pt it writes can start another run, and a file of another network is one clear line."""
    from vconductor.beat_tracking.tracker import packaged_weights_path

    def one_step(out, *extra):
        args = [*_train_args(tiny_beats_data, out, 1)[:-2], "--lr", "1e-9", "--eval-every", 1, *extra]
        return _vconductor(*args)

    with np.load(packaged_weights_path(), allow_pickle=False) as shipped:
        width = ["--channels", shipped["head.weight"].shape[1]]
        width += ["--frontend-channels", shipped["frontend.layers.0.weight"].shape[0]]
    assert one_step(tmp_path / "random", *width).returncode == 0
    done = one_step(tmp_path / "tuned", "--init", packaged_weights_path(), *width)
    assert done.returncode == 0, done.stderr
    assert _scalars(tmp_path / "tuned", "val/loss")[0] < 0.5 * _scalars(tmp_path / "random", "val/loss")[0]
    tuned, _ = load_beat_tracker(tmp_path / "tuned" / WEIGHTS_FILE)
    with np.load(packaged_weights_path(), allow_pickle=False) as shipped:
        for name, weight in tuned.state_dict().items():
            assert np.allclose(weight.numpy(), shipped[name], atol=1e-6), name
    again = one_step(tmp_path / "again", "--init", tmp_path / "tuned" / WEIGHTS_FILE, *width)
    assert again.returncode == 0, again.stderr

    wrong = one_step(tmp_path / "wrong", "--init", packaged_weights_path(), "--no-flux", *width)
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1, wrong.stderr
    assert "flux True (this run: False)" in wrong.stderr
    (tmp_path / "junk.npz").write_bytes(b"not weights")
    junk = one_step(tmp_path / "junk", "--init", tmp_path / "junk.npz")
    assert junk.returncode == 1 and junk.stderr.count("\n") == 1 and "junk.npz" in junk.stderr, junk.stderr


def test_init_widens_a_narrower_network_keeping_its_function(tiny_beats_data, tmp_path):
    """--init with --channels wider than the file's: the run starts from the same function (its step-0
    validation loss is the narrow network's after its one step at lr 1e-9), the narrow weights sit in the wide
    tensors' corners with zeros where an old unit would read a new one, and a wider file into a narrower run is
    refused in one line."""

    def one_step(out, *extra):
        args = [*_train_args(tiny_beats_data, out, 1)[:-2], "--lr", "1e-9", "--eval-every", 1, *extra]
        return _vconductor(*args)

    narrow = one_step(tmp_path / "narrow", "--channels", 24, "--frontend-channels", 32)
    narrow_file = tmp_path / "narrow" / WEIGHTS_FILE
    wide = one_step(tmp_path / "wide", "--init", narrow_file, "--channels", 40, "--frontend-channels", 56)
    assert narrow.returncode == 0 and wide.returncode == 0, narrow.stderr + wide.stderr
    before, after = _scalars(tmp_path / "narrow", "val/loss")[1], _scalars(tmp_path / "wide", "val/loss")[0]
    assert abs(after - before) < 1e-5 * before, (before, after)
    net, _ = load_beat_tracker(tmp_path / "wide" / WEIGHTS_FILE)
    old, _ = load_beat_tracker(narrow_file)
    assert net.cfg.channels == 40 and net.cfg.frontend_channels == 56
    head, old_head = net.state_dict()["head.weight"].numpy(), old.state_dict()["head.weight"].numpy()
    assert np.allclose(head[:, :24], old_head, atol=1e-6) and np.abs(head[:, 24:]).max() < 1e-6

    back = one_step(tmp_path / "back", "--init", tmp_path / "wide" / WEIGHTS_FILE, "--channels", 24)
    assert back.returncode == 1 and back.stderr.count("\n") == 1, back.stderr
    assert "channels 40 (this run: 24)" in back.stderr


def test_a_folder_without_samples_is_one_clear_line(tmp_path):
    done = _vconductor("train", "beats", tmp_path, "--out", tmp_path / "run", "-q")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no samples" in done.stderr, done.stderr


def test_noise_is_added_in_the_mel_domain_at_the_drawn_signal_to_noise_ratio():
    """`--noise`: coloured noise added to scaled log-mel frames in power, 8-35 dB under the excerpt's mean power;
    quiet frames rise to the noise floor, loud ones barely move, and the same generator gives the same noise."""
    rng = np.random.default_rng(0)
    frames = np.zeros((400, 128), np.float32)
    frames[::40] = 0.9  # a loud frame every 40, silence between
    out = noisy(frames, np.random.default_rng(1))
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert np.array_equal(out, noisy(frames, np.random.default_rng(1)))
    power, with_noise = 10 ** (8 * frames.astype(float)), 10 ** (8 * out.astype(float))
    snr_db = 10 * np.log10(power.mean() / (with_noise - power).mean())
    assert 8 - 1 < snr_db < 35 + 1
    assert np.abs(out[::40] - 0.9).max() < 0.01 and out[1::40].mean() > 0.2
    assert not np.array_equal(noisy(frames, rng), noisy(frames, rng))


def test_packed_features_unpack_into_a_folder_that_trains_without_its_audio(tiny_beats_data, tmp_path):
    """scripts/pack_beat_features.py (training on another machine): labels exact, frames within a 6-bit step
    plus its spread (1.3 dB of the 80 dB scale), the audio never read again; a missing part is refused unless
    --partial, which keeps the whole samples of the parts at hand."""
    script = [sys.executable, str(REPO / "scripts" / "pack_beat_features.py")]
    run = lambda *a: subprocess.run([*script, *map(str, a)], env=ENV, capture_output=True, text=True)  # noqa: E731
    packed = run("pack", tiny_beats_data, tmp_path / "feat", "--bits", 6, "--chunk-mb", 0.05)
    assert packed.returncode == 0, packed.stderr
    parts = sorted(tmp_path.glob("feat.part*"))
    assert len(parts) >= 2
    assert run("unpack", tmp_path / "feat", tmp_path / "data").returncode == 0
    originals, copies = list_samples(tiny_beats_data), list_samples(tmp_path / "data")
    assert [s.name for s in copies] == [s.name for s in originals]
    for a, b in zip(originals, copies, strict=True):
        assert (
            a.work == b.work and np.allclose(a.beats_s, b.beats_s, atol=1e-6) and b.flac.stat().st_size == 0
        )
        frames, unpacked = cached_frames(tiny_beats_data, a), cached_frames(tmp_path / "data", b)
        assert frames.shape == unpacked.shape and np.abs(frames - unpacked).max() <= 1.01 / 63
    parts[-1].unlink()
    refused = run("unpack", tmp_path / "feat", tmp_path / "refused")
    assert refused.returncode != 0 and "a part is missing" in refused.stderr
    partial = run("unpack", tmp_path / "feat", tmp_path / "partial", "--partial")
    assert partial.returncode == 0, partial.stderr
    assert 0 < len(list((tmp_path / "partial").glob("*.json"))) < len(originals)
