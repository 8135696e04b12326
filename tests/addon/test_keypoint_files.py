"""A take's keypoint export: the contract's bytes (those `vconductor generate -o` writes), written atomically."""

import os
import stat

import numpy as np
import pytest
from virtual_conductor_addon.contract import Motion, motion_from_bytes, motion_to_bytes
from virtual_conductor_addon.motion import MotionError
from virtual_conductor_addon.motion.keypoint_files import write_keypoints


def _take(frames: int = 45) -> Motion:
    keypoints = np.random.default_rng(0).normal(0.5, 0.1, (frames, 13, 2))
    return Motion(keypoints, duration_s=frames / 30, model="procedural", seed=3, source="ode.ogg")


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_written_files_are_the_contract_bytes(tmp_path, suffix):
    take = _take()
    path = write_keypoints(take, tmp_path / "new folder" / f"take{suffix.upper()}")
    data = path.read_bytes()
    assert data == motion_to_bytes(take, suffix)
    back = motion_from_bytes(data, suffix)
    np.testing.assert_allclose(back.keypoints, take.keypoints, atol=5.1e-7)  # files hold 6 decimals
    assert back.metadata() == take.metadata()
    assert os.listdir(path.parent) == [path.name], "no temp file is left behind"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, "the user's usual permissions, not 0600"


def test_unsupported_suffix_writes_nothing(tmp_path):
    with pytest.raises(MotionError, match=r"Unsupported keypoint file type '.npz': use .json or .csv"):
        write_keypoints(_take(), tmp_path / "take.npz")
    assert not list(tmp_path.iterdir())
