"""`vconductor data build`: pose-estimator files (AlphaPose, MMPose, OpenPose) + audio -> normalised samples.

The fake pose files hold a known smooth motion, drawn in pixels by a camera (scale and offset) at the video frame
rate, with an audience member beside the conductor, dropped and unconfident joints, and the formats' own
quirks (AlphaPose omits empty frames, OpenPose writes missing joints as zeros, MMPose nests instances).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import write_music
from vconductor.data.build import BuildError, BuildOptions, SplitOptions, build_samples, prepare_recording
from vconductor.data.dataset import ConductorMotionDataset
from vconductor.data.pose_import import OPENPOSE_TO_COCO, PoseFormatError, detect_format, read_detections
from vconductor.data.pose_track import fill_missing, normalize_motion, resample_frames, select_conductor
from vconductor.skeleton import JOINT

# A conductor at rest in COCO-17 (normalised image units, y down), knees and ankles included.
REST17 = np.array(
    [
        [0.5, 0.36],
        [0.52, 0.34],
        [0.48, 0.34],
        [0.545, 0.35],
        [0.455, 0.35],
        [0.6, 0.45],
        [0.4, 0.45],
        [0.64, 0.58],
        [0.36, 0.58],
        [0.64, 0.66],
        [0.36, 0.66],
        [0.565, 0.75],
        [0.435, 0.75],
        [0.57, 0.95],
        [0.43, 0.95],
        [0.57, 1.15],
        [0.43, 1.15],
    ]
)


def true_motion(t: np.ndarray) -> np.ndarray:
    """(T, 17, 2) a smooth conducting-like motion at times t (seconds): wrists beat at 2 Hz, the body sways."""
    x = np.repeat(REST17[None], len(t), axis=0)
    x[:, :, 0] += 0.01 * np.sin(2 * np.pi * 0.3 * t)[:, None]
    x[:, 10, 1] -= 0.06 * np.sin(np.pi * 2.0 * t) ** 2  # right wrist bounces
    x[:, 10, 0] += 0.03 * np.sin(2 * np.pi * 0.5 * t)
    x[:, 9, 1] -= 0.03 * np.sin(2 * np.pi * 0.7 * t) ** 2
    x[:, 8, 1] -= 0.03 * np.sin(np.pi * 2.0 * t) ** 2
    return x


CAMERA_SCALE, CAMERA_OFFSET = 900.0, np.array([310.0, -120.0])  # normalised -> pixels


def video_people(seconds: float, fps: float, seed: int = 0):
    """Per frame: the conductor and an audience member (pixels (17, 2), scores (17,), person score)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    conductor = true_motion(np.arange(n) / fps) * CAMERA_SCALE + CAMERA_OFFSET
    scores = rng.uniform(0.7, 0.95, (n, 17))
    scores[n // 3 : n // 3 + 4, 9] = 0.05  # the left wrist unconfident for 4 frames (motion blur)
    other = (REST17 * 0.35 + [0.05, 0.7]) * CAMERA_SCALE + CAMERA_OFFSET  # small, low in the image
    return [
        [(conductor[f], scores[f], 0.9), (other + rng.normal(0, 1, other.shape), np.full(17, 0.97), 0.99)]
        for f in range(n)
    ]


def expected_motion(seconds: float) -> np.ndarray:
    t = np.arange(int(np.floor(seconds * 30 + 1e-9))) / 30
    return normalize_motion(true_motion(t)[:, :13])


def write_alphapose(path, people, skip_frames=()):
    entries = []
    for f, persons in enumerate(people):
        if f in skip_frames:
            continue  # AlphaPose writes nothing for a frame without detections
        for k, (kp, sc, score) in enumerate(persons):
            flat = np.column_stack([kp, sc]).ravel().round(3).tolist()
            entries.append(
                {
                    "image_id": f"{f}.jpg",
                    "category_id": 1,
                    "keypoints": flat,
                    "score": score,
                    "idx": k + 1,
                    "box": [float(kp[:, 0].min()), float(kp[:, 1].min()), 100.0, 200.0],
                }
            )
    path.write_text(json.dumps(entries))
    return path


def mmpose_instance(kp, sc, score):
    return {
        "keypoints": kp.round(3).tolist(),
        "keypoint_scores": sc.round(3).tolist(),
        "bbox": [[*kp.min(0).tolist(), *kp.max(0).tolist()]],
        "bbox_score": score,
    }


def write_mmpose(path, people):
    frames = [
        {"frame_id": f + 1, "instances": [mmpose_instance(*p) for p in persons]}
        for f, persons in enumerate(people)
    ]
    path.write_text(json.dumps({"meta_info": {"dataset_name": "coco"}, "instance_info": frames}))
    return path


def write_openpose(folder, people, layout=25):
    folder.mkdir()
    to_coco = OPENPOSE_TO_COCO[layout]
    for f, persons in enumerate(people):
        out = []
        for kp, sc, _ in persons:
            a = np.zeros((layout, 3))
            a[list(to_coco), :2] = kp[:13]
            a[list(to_coco), 2] = sc[:13]
            a[a[:, 2] < 0.1] = 0.0  # OpenPose drops unconfident joints to zeros
            out.append({"person_id": [-1], "pose_keypoints_2d": a.ravel().round(3).tolist()})
        (folder / f"concert_{f:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": out}))
    return folder


@pytest.fixture(scope="module")
def audio_12s(tmp_path_factory):
    return write_music(tmp_path_factory.mktemp("audio") / "concert.wav", 12.0)


def check_recording(rec, seconds=12.0):
    """Exact up to linear-interpolation error; the filled frames (a dropped frame, a blurred wrist) near it."""
    want = expected_motion(seconds)
    assert rec.motion.shape == want.shape and rec.mel.shape == (3 * len(want), 128)
    filled = rec.missing.any(axis=1)
    assert 3 <= filled.sum() <= 10
    np.testing.assert_allclose(rec.motion[~filled], want[~filled], atol=1.2e-3)
    np.testing.assert_allclose(rec.motion[filled], want[filled], atol=6e-3)


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001, 30.0, 50.0])
def test_alphapose_any_fps_recovers_the_motion_at_30_fps(tmp_path, audio_12s, fps):
    people = video_people(12.0, fps)
    poses = write_alphapose(tmp_path / "alphapose-results.json", people, skip_frames={7})
    assert detect_format(poses) == "alphapose"
    rec = prepare_recording(audio_12s, poses, BuildOptions(seconds=4, fps=fps))
    assert rec.source_format == "alphapose"
    check_recording(rec)


def test_mmpose_file_and_per_frame_folder(tmp_path, audio_12s):
    people = video_people(12.0, 25.0)
    poses = write_mmpose(tmp_path / "results_concert.json", people)
    assert detect_format(poses) == "mmpose"
    check_recording(prepare_recording(audio_12s, poses, BuildOptions(seconds=4, fps=25.0)))
    folder = tmp_path / "frames"
    folder.mkdir()
    for f, persons in enumerate(people):  # the inferencer on an image folder: one list of instances per image
        (folder / f"frame_{f}.json").write_text(json.dumps([mmpose_instance(*p) for p in persons]))
    assert detect_format(folder) == "mmpose"
    check_recording(prepare_recording(audio_12s, folder, BuildOptions(seconds=4, fps=25.0)))


@pytest.mark.parametrize("layout", [25, 18])
def test_openpose_body25_and_coco18_map_to_coco(tmp_path, audio_12s, layout):
    poses = write_openpose(tmp_path / "openpose", video_people(12.0, 25.0), layout)
    assert detect_format(poses) == "openpose"
    rec = prepare_recording(audio_12s, poses, BuildOptions(seconds=4, fps=25.0))
    check_recording(rec)


def test_conductor_is_kept_when_another_person_scores_higher_briefly(tmp_path):
    people = video_people(4.0, 30.0)
    for f in range(40, 45):  # a bright, large distractor far away for a few frames
        kp, sc, _ = people[f][0]
        people[f].append((kp + [600.0, 0.0], np.full(17, 0.99), 0.999))
    det = read_detections(write_alphapose(tmp_path / "a.json", people))
    track = select_conductor(det)
    want = true_motion(np.arange(len(people)) / 30.0)[:, :13] * CAMERA_SCALE + CAMERA_OFFSET
    np.testing.assert_allclose(track.keypoints, want, atol=0.01)
    assert track.people_per_frame[42] == 3


def test_normalisation_properties_and_invariance():
    t = np.arange(300) / 30
    raw = true_motion(t)[:, :13]
    m = normalize_motion(raw)
    shoulder = m[:, JOINT["left_shoulder"], 0] - m[:, JOINT["right_shoulder"], 0]
    hips = m[:, [JOINT["left_hip"], JOINT["right_hip"]]].mean(axis=(0, 1))
    assert shoulder.mean() == pytest.approx(0.2, abs=1e-6)
    np.testing.assert_allclose(hips, [0.5, 0.75], atol=1e-6)
    np.testing.assert_allclose(normalize_motion(raw * 1234.0 + [17.0, -3.0], frame_width=1920), m, atol=1e-5)
    mirrored = raw.copy()
    mirrored[..., 0] *= -1  # a back view: left shoulder on the image left
    with pytest.raises(ValueError, match="must face the camera"):
        normalize_motion(mirrored)


def test_resampling_keeps_time_and_frame_counts():
    for fps, n_in in ((25.0, 250), (30000 / 1001, 300), (60.0, 600)):
        t = np.arange(n_in) / fps
        x = np.sin(2 * np.pi * 0.5 * t)
        y = resample_frames(x, fps, 30.0)
        assert len(y) == int(np.floor(n_in / fps * 30 + 1e-9))
        inside = np.arange(len(y)) / 30 <= t[-1]  # after the last video frame its value is held
        assert inside[:-1].all()
        np.testing.assert_allclose(
            y[inside], np.sin(2 * np.pi * 0.5 * np.arange(len(y))[inside] / 30), atol=2e-3
        )


def test_missing_joints_are_interpolated():
    x = np.zeros((10, 13, 2))
    x[:, 9, 0] = np.arange(10.0)
    missing = np.zeros((10, 13), bool)
    missing[3:6, 9] = True
    missing[0:2, 10] = True  # at the start: held at the first seen value
    x[3:6, 9] = np.nan
    x[2:, 10, 1] = 5.0
    out = fill_missing(x, missing)
    np.testing.assert_allclose(out[:, 9, 0], np.arange(10.0))
    np.testing.assert_allclose(out[:2, 10, 1], 5.0)


def test_too_much_missing_skips_samples_then_errors(tmp_path, audio_12s):
    people = video_people(12.0, 25.0)
    for f in range(0, 150):  # the right wrist lost for the first 6 s: samples 0 and 1 of 4 s
        people[f][0][1][10] = 0.01
    for f in range(225, 242):  # and for 0.7 s in the last sample: filled (limit 1 s)
        people[f][0][1][10] = 0.01
    poses = write_alphapose(tmp_path / "a.json", people)
    messages = []
    written = build_samples(
        audio_12s, poses, tmp_path / "ds", BuildOptions(seconds=4, fps=25.0), report=messages.append
    )
    assert [p.name for p in written] == ["concert-002"]
    assert messages[0].startswith("skipped sample 0 (0-4 s): right_wrist missing in 100% of frames")
    assert "right_wrist missing" in messages[1]
    assert len(messages) == 2
    with pytest.raises(BuildError, match="no usable sample"):  # a 0.5 s limit rejects the last sample too
        build_samples(
            audio_12s,
            poses,
            tmp_path / "ds2",
            BuildOptions(seconds=4, fps=25.0, max_missing=0.2, max_gap_s=0.5),
            name="x",
            report=lambda m: None,
        )
    for f in range(len(people)):
        people[f][0][1][11] = 0.0
    with pytest.raises(BuildError, match="left_hip never detected"):
        prepare_recording(
            audio_12s, write_alphapose(tmp_path / "b.json", people), BuildOptions(seconds=4, fps=25.0)
        )


def test_input_errors_are_one_clear_line(tmp_path, audio_12s):
    people = video_people(12.0, 25.0)
    good = write_alphapose(tmp_path / "a.json", people)
    with pytest.raises(BuildError, match="--fps is required"):
        prepare_recording(audio_12s, good, BuildOptions(seconds=4))
    with pytest.raises(
        BuildError, match=r"audio lasts 12\.00 s but the poses cover 10\.00 s \(300 frames at 30 fps\)"
    ):
        prepare_recording(audio_12s, good, BuildOptions(seconds=4, fps=30.0))
    with pytest.raises(BuildError, match="shorter than one sample of 20 s"):
        build_samples(audio_12s, good, tmp_path / "ds", BuildOptions(seconds=20, fps=25.0))
    with pytest.raises(BuildError, match="--test-fraction needs --val-fraction"):
        build_samples(
            audio_12s,
            good,
            tmp_path / "ds",
            BuildOptions(seconds=4, fps=25.0),
            SplitOptions(test_fraction=0.2),
        )
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": "0.jpg", "keypoints": [1, 2, ')
    with pytest.raises(PoseFormatError, match="bad.json: not valid JSON"):
        read_detections(bad)
    bad.write_text(json.dumps([{"image_id": "0.jpg", "keypoints": [1.0] * 48, "score": 1}]))
    with pytest.raises(PoseFormatError, match="entry 0: expected 17 COCO keypoints .* got 48 numbers"):
        read_detections(bad)
    instance = {"keypoints": [[0, 0]] * 21, "keypoint_scores": [1] * 21}
    bad.write_text(json.dumps({"instance_info": [{"frame_id": 1, "instances": [instance]}]}))
    with pytest.raises(
        PoseFormatError, match=r"frame 0 instance 0: expected 17 COCO keypoints .* shape \(21, 2\)"
    ):
        read_detections(bad)
    folder = tmp_path / "op"
    folder.mkdir()
    (folder / "v_000000000000_keypoints.json").write_text(
        json.dumps({"people": [{"pose_keypoints_2d": [0] * 60}]})
    )
    with pytest.raises(PoseFormatError, match="BODY_25 .* or COCO-18 .*, got 60 numbers"):
        read_detections(folder)
    bad.write_text(json.dumps({"something": 1}))
    with pytest.raises(PoseFormatError, match="not a recognised pose format"):
        read_detections(bad)
    with pytest.raises(PoseFormatError, match="not found"):
        read_detections(tmp_path / "missing.json")


def files_under(folder) -> dict[str, bytes]:
    """Every file under `folder`, hidden ones included, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_build_that_fails_midway_leaves_the_dataset_as_it_was(tmp_path, audio_12s, capsys):
    """A real write failure after some samples are written (a file where the val split's folder goes): no new
    sample, the replaced ones back, no hidden folder left, and one line naming what failed."""
    from vconductor.cli import main

    out = tmp_path / "ds"
    first = write_alphapose(tmp_path / "first.json", video_people(12.0, 25.0))
    build_samples(audio_12s, first, out, BuildOptions(seconds=4, fps=25.0), name="rec", report=print)
    (out / "val").write_text("not a split folder\n")
    before = files_under(out)
    again = write_alphapose(tmp_path / "again.json", video_people(12.0, 25.0, seed=1))
    build = ["data", "build", str(audio_12s), str(again), "-o", str(out), "--fps", "25", "--seconds", "4"]
    # samples 0 and 1 go to train (replacing the first build's), sample 2 to val, which cannot be made
    code = main([*build, "--name", "rec", "--overwrite", "--val-fraction", "0.34"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {out / 'val' / 'rec-002'}: cannot write (File exists: {out / 'val'})")
    assert err.rstrip().endswith("; nothing was written, the dataset is as it was")
    assert files_under(out) == before

    fresh = tmp_path / "fresh"  # only the file in the val split's way: the train folder is this build's
    fresh.mkdir()
    (fresh / "val").write_text("not a split folder\n")
    assert main([*build[:5], str(fresh), *build[6:], "--name", "rec", "--val-fraction", "0.34"]) == 1
    assert "cannot write (File exists" in capsys.readouterr().err
    assert files_under(fresh) == {"val": b"not a split folder\n"} and not (fresh / "train").exists()


def test_cli_build_end_to_end(tmp_path, audio_12s):
    poses = write_openpose(tmp_path / "op", video_people(12.0, 25.0))
    command = [sys.executable, "-m", "vconductor", "data", "build", str(audio_12s), str(poses)]
    cmd = [*command, "-o", str(tmp_path / "ds"), "--fps", "25", "--seconds", "4", "--val-fraction", "0.34"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 samples of 4 s" in proc.stdout
    train, val = (
        ConductorMotionDataset(tmp_path / "ds", "train"),
        ConductorMotionDataset(tmp_path / "ds", "val"),
    )
    assert (len(train), len(val)) == (2, 1) and train.seconds == 4
    both = {s.name: s.motion for s in [*train, *val]}
    np.testing.assert_allclose(
        np.concatenate([both[f"concert-{k:03d}"] for k in range(3)]), expected_motion(12.0), atol=6e-3
    )
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and again.stderr.startswith("error: ") and "--overwrite" in again.stderr
    assert again.stderr.count("\n") == 1
    missing_fps = subprocess.run(cmd[:-6], capture_output=True, text=True, timeout=120)
    assert missing_fps.returncode == 1 and "--fps is required" in missing_fps.stderr
