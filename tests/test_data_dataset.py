"""The ConductorMotion100 reader: layout, memory-mapping, and one clear DatasetError per failure mode."""

import numpy as np
import pytest

from vconductor.data.dataset import ConductorMotionDataset, DatasetError, Sample, write_sample


def make_dataset(root, split="train", n=3, seconds=2, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        write_sample(
            root / split / str(i),
            rng.random((seconds * 90, 128), dtype=np.float32),
            rng.random((seconds * 30, 13, 2), dtype=np.float32),
        )
    return root


def test_reads_samples_in_natural_order_with_contract_attributes(tmp_path):
    make_dataset(tmp_path, n=12)
    ds = ConductorMotionDataset(tmp_path, "train")
    assert len(ds) == 12
    assert ds.names[:3] == ["0", "1", "2"] and ds.names[-2:] == ["10", "11"]  # 10 after 9, not after 1
    assert ds.seconds == 2 and ds.motion_frames == 60 and ds.mel_frames == 180
    assert ds.root == tmp_path and ds.split == "train"
    s = ds[11]
    assert isinstance(s, Sample) and s.name == "11"
    assert s.mel.shape == (180, 128) and s.motion.shape == (60, 13, 2)
    assert s.mel.dtype == np.float32 and s.motion.dtype == np.float32
    assert ds[-1].name == "11"
    with pytest.raises(IndexError):
        ds[12]
    assert [x.name for x in ds] == ds.names
    assert len(ConductorMotionDataset(tmp_path, "train", limit=5)) == 5


def test_memory_mapped_equals_in_memory_and_arrays_are_read_only(tmp_path):
    make_dataset(tmp_path, n=3)
    loaded = ConductorMotionDataset(tmp_path, "train", in_memory=True)
    mapped = ConductorMotionDataset(tmp_path, "train", in_memory=False)
    assert loaded.in_memory and not mapped.in_memory
    assert ConductorMotionDataset(tmp_path, "train").in_memory  # small: loaded by default
    for a, b in zip(loaded, mapped, strict=True):
        assert isinstance(b.mel, np.memmap)
        np.testing.assert_array_equal(a.mel, b.mel)
        np.testing.assert_array_equal(a.motion, b.motion)
        assert not a.mel.flags.writeable and not b.motion.flags.writeable


def test_float64_files_are_served_as_float32(tmp_path):
    d = tmp_path / "train" / "a"
    d.mkdir(parents=True)
    np.save(d / "mel.npy", np.zeros((90, 128)))
    np.save(d / "motion.npy", np.zeros((30, 13, 2)))
    s = ConductorMotionDataset(tmp_path, "train", in_memory=False)[0]
    assert s.mel.dtype == np.float32 and s.motion.dtype == np.float32


def test_hidden_folders_are_ignored(tmp_path):
    make_dataset(tmp_path, n=2)
    (tmp_path / "train" / ".3.1234.tmp").mkdir()  # an unfinished write
    assert ConductorMotionDataset(tmp_path, "train").names == ["0", "1"]


def _save(d, mel=None, motion=None):
    d.mkdir(parents=True, exist_ok=True)
    if mel is not None:
        np.save(d / "mel.npy", mel)
    if motion is not None:
        np.save(d / "motion.npy", motion)


MEL = np.zeros((90, 128), np.float32)
MOTION = np.zeros((30, 13, 2), np.float32)


@pytest.mark.parametrize(
    ("mel", "motion", "message"),
    [
        (MEL, None, r"motion\.npy: missing file"),
        (None, MOTION, r"mel\.npy: missing file"),
        (np.zeros(90, np.float32), MOTION, r"mel\.npy: expected 2 dimensions"),
        (np.zeros((90, 64), np.float32), MOTION, r"mel\.npy: expected shape \(frames, 128\)"),
        (MEL, np.zeros((30, 17, 2), np.float32), r"motion\.npy: expected shape \(frames, 13, 2\)"),
        (MEL, np.zeros((30, 26), np.float32), r"motion\.npy: expected 3 dimensions"),
        (MEL.astype(np.int16), MOTION, r"mel\.npy: expected float32 values, got dtype int16"),
        (np.zeros((91, 128), np.float32), MOTION, r"mel\.npy has 91 frames but motion\.npy has 30"),
        (np.zeros((0, 128), np.float32), np.zeros((0, 13, 2), np.float32), r"has no frames"),
        (np.full((90, 128), np.nan, np.float32), MOTION, r"mel\.npy: contains 11520 non-finite values"),
        (MEL, np.full((30, 13, 2), np.inf, np.float32), r"motion\.npy: contains 780 non-finite values"),
    ],
)
def test_each_bad_sample_raises_one_clear_line(tmp_path, mel, motion, message):
    _save(tmp_path / "train" / "0", mel, motion)
    with pytest.raises(DatasetError, match=message) as info:
        ConductorMotionDataset(tmp_path, "train", in_memory=True)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


def test_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        ConductorMotionDataset(tmp_path / "nope", "train")
    make_dataset(tmp_path, "train", n=1)
    with pytest.raises(DatasetError, match=r"split 'val' not found \(splits here: train\)"):
        ConductorMotionDataset(tmp_path, "val")
    (tmp_path / "test").mkdir()
    with pytest.raises(DatasetError, match="no samples"):
        ConductorMotionDataset(tmp_path, "test")
    with pytest.raises(DatasetError, match="limit must be at least 1"):
        ConductorMotionDataset(tmp_path, "train", limit=0)


def test_mixed_lengths_and_corrupt_files(tmp_path):
    make_dataset(tmp_path, n=2, seconds=2)
    _save(tmp_path / "train" / "2", np.zeros((270, 128), np.float32), np.zeros((90, 13, 2), np.float32))
    with pytest.raises(
        DatasetError, match="90 frames, but .* has 60; all samples of a split must have the same"
    ):
        ConductorMotionDataset(tmp_path, "train")
    (tmp_path / "train" / "2" / "mel.npy").write_bytes(b"not numpy")
    with pytest.raises(DatasetError, match=r"2/mel\.npy: not a readable \.npy file"):
        ConductorMotionDataset(tmp_path, "train")
    np.save(tmp_path / "train" / "2" / "mel.npy", np.zeros((180, 128), np.float32))
    data = (tmp_path / "train" / "2" / "mel.npy").read_bytes()
    (tmp_path / "train" / "2" / "mel.npy").write_bytes(data[:-100])
    np.save(tmp_path / "train" / "2" / "motion.npy", np.zeros((60, 13, 2), np.float32))
    with pytest.raises(DatasetError, match="truncated"):
        ConductorMotionDataset(tmp_path, "train")


def test_memory_mapped_values_are_checked_on_first_read(tmp_path):
    make_dataset(tmp_path, n=2)
    motion = np.zeros((60, 13, 2), np.float32)
    motion[5, 3, 1] = np.nan
    np.save(tmp_path / "train" / "1" / "motion.npy", motion)
    ds = ConductorMotionDataset(tmp_path, "train", in_memory=False)  # headers fine: opens
    ds[0]
    with pytest.raises(DatasetError, match=r"1/motion\.npy: contains 1 non-finite"):
        ds[1]


def test_write_sample_replaces_whole_and_refuses_bad_arrays(tmp_path):
    target = tmp_path / "train" / "x"
    write_sample(target, np.zeros((90, 128)), np.zeros((30, 13, 2)), {"a": 1})
    write_sample(target, np.ones((180, 128)), np.ones((60, 13, 2)))
    assert not (target / "meta.json").exists()  # replaced as a whole, not merged
    assert np.load(target / "motion.npy").shape == (60, 13, 2)
    with pytest.raises(DatasetError, match="non-finite"):
        write_sample(tmp_path / "train" / "y", np.full((90, 128), np.nan), np.zeros((30, 13, 2)))
    with pytest.raises(DatasetError, match="expected 3 per frame"):
        write_sample(tmp_path / "train" / "y", np.zeros((91, 128)), np.zeros((30, 13, 2)))
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["x"]  # nothing half-written left
