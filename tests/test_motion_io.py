"""Motion files: the three formats carry the same content; failures leave nothing behind."""

import numpy as np
import pytest

from vconductor.motion_io import FORMATS, Motion, load_motion, save_motion
from vconductor.skeleton import JOINT_NAMES


def make_motion(frames: int = 40) -> Motion:
    kp = np.random.default_rng(0).random((frames, 13, 2), dtype=np.float32)
    return Motion(kp, duration_s=frames / 30 - 0.01, model="official", seed=9, source="piece.flac")


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_keeps_keypoints_and_metadata(tmp_path, suffix):
    motion = make_motion()
    path = save_motion(motion, tmp_path / f"m{suffix}")
    back = load_motion(path)
    assert back.metadata() == motion.metadata()
    assert back.joint_names == JOINT_NAMES
    tol = 0 if suffix == ".npz" else 1e-6  # text formats keep six decimals
    assert np.abs(back.keypoints - motion.keypoints).max() <= tol
    assert oct(path.stat().st_mode & 0o077) != "0o0", "outputs follow the umask, not private temp-file modes"


def test_csv_is_one_row_per_frame_with_named_columns(tmp_path):
    path = save_motion(make_motion(5), tmp_path / "m.csv")
    rows = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert rows[0].startswith("frame,time_s,nose_x,nose_y,left_eye_x")
    assert len(rows) == 6 and rows[2].startswith("1,0.033333,")


def test_bad_shapes_and_suffixes_are_refused_without_writing(tmp_path):
    with pytest.raises(ValueError, match=r"\(frames, 13, 2\)"):
        Motion(np.zeros((10, 17, 2)), 1.0, "m", 0)
    with pytest.raises(ValueError, match="unsupported motion format"):
        save_motion(make_motion(), tmp_path / "m.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_leaves_the_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = save_motion(make_motion(), tmp_path / "m.npz")
    before = path.read_bytes()

    def disk_full(f, **arrays):  # half a file, then the failure
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_motion(make_motion(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_loading_junk_is_a_clear_error(tmp_path):
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid vconductor motion file"):
        load_motion(tmp_path / "junk.json")
    with pytest.raises(FileNotFoundError):
        load_motion(tmp_path / "absent.npz")
