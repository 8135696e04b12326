"""The backend/add-on contract: one source, an identical copy in the add-on, and its file formats."""

import importlib.util
import sys

import numpy as np
import pytest

from conftest import REPO
from vconductor import contract
from vconductor.contract import JobState, Motion, MotionFileError, motion_from_bytes, motion_to_bytes


@pytest.mark.parametrize("name", ["contract.py", "contract_beats.py", "contract_style.py"])
def test_addon_copy_is_identical_to_the_backend_contract(name):
    source = REPO / "backend" / "vconductor" / name
    copy = REPO / "virtual_conductor_addon" / name
    assert copy.read_bytes() == source.read_bytes(), "run `python build_addon.py --sync-contract`"


def test_addon_copy_imports_without_the_backend():
    spec = importlib.util.spec_from_file_location(
        "addon_contract", REPO / "virtual_conductor_addon" / "contract.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.JOINT_NAMES == contract.JOINT_NAMES
    assert module.JobState("done").is_final


def _motion(frames=7, with_3d=False):
    rng = np.random.default_rng(0)
    extra = {}
    if with_3d:
        extra = {"keypoints3d": rng.random((frames, 13, 3)), "baton_tip": rng.random((frames, 3))}
    return Motion(
        rng.random((frames, 13, 2)), duration_s=frames / 30, model="m", seed=3, source="a.wav", **extra
    )


@pytest.mark.parametrize("suffix", contract.MOTION_FORMATS)
@pytest.mark.parametrize("with_3d", [False, True])
def test_every_format_round_trips(suffix, with_3d):
    motion = _motion(with_3d=with_3d)
    back = motion_from_bytes(motion_to_bytes(motion, suffix), suffix)
    np.testing.assert_allclose(back.keypoints, motion.keypoints, atol=1e-6)
    assert back.metadata() == motion.metadata()
    assert (back.keypoints3d is None) == (not with_3d)
    if with_3d:
        np.testing.assert_allclose(back.keypoints3d, motion.keypoints3d, atol=1e-6)
        np.testing.assert_allclose(back.baton_tip, motion.baton_tip, atol=1e-6)


def test_streamed_json_is_the_whole_document():
    motion = _motion(frames=4500)
    whole = b"".join(contract.motion_json_chunks(motion, frames_per_chunk=1000))
    assert whole == motion_to_bytes(motion, ".json")
    assert len(motion_from_bytes(whole, ".json").keypoints) == 4500


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"{}",
        b"not json",
        b'{"keypoints": [[1, 2]], "fps": 30, "duration_s": 1, "model": "m", "seed": 0}',
    ],
)
def test_invalid_content_is_a_motion_file_error(bad):
    with pytest.raises(MotionFileError, match="not a valid vconductor motion file"):
        motion_from_bytes(bad, ".json", name="x.json")


def test_mismatched_optional_arrays_are_refused():
    with pytest.raises(MotionFileError, match="keypoints3d has 2 frames"):
        Motion(np.zeros((3, 13, 2)), 0.1, "m", 0, keypoints3d=np.zeros((2, 13, 3)))


def test_job_states_are_the_wire_strings():
    assert [s.value for s in JobState] == ["queued", "running", "done", "failed", "cancelled"]
    assert {s for s in JobState if s.is_final} == {JobState.DONE, JobState.FAILED, JobState.CANCELLED}
    assert JobState("running") == "running"


def test_non_finite_motion_is_refused():
    keypoints = np.zeros((5, 13, 2))
    keypoints[3, 4, 1] = np.nan
    with pytest.raises(MotionFileError, match="non-finite values in 1 frame"):
        Motion(keypoints, 0.2, "m", 0)
