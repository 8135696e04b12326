"""Applying 10 minutes of motion to the default conductor rig in real Blender: animate_rig, then key writing.

    .venv/bin/python benchmarks/bench_apply_motion.py [--minutes 10] [--runs 5] [--synthetic]

The keypoints come from the procedural conductor on real music (the ../shared corpus, else the bundled
example, looped), or with --synthetic from figure-eight hand paths (no analysis). The rig is keyed at 24 and
60 fps over the whole piece; the script prints medians of several runs and the machine. Target: <= 1 s total.
"""

import argparse
import atexit
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, long_piece, machine  # noqa: E402

ADDON = "virtual_conductor_addon"


def procedural_keypoints(seconds: float, workdir: Path) -> np.ndarray:
    from vconductor.conducting import analyze, conduct

    path = long_piece(workdir / "piece.wav", seconds)
    return conduct(analyze(path), int(np.ceil(seconds * 30))).keypoints


def synthetic_keypoints(seconds: float) -> np.ndarray:
    """A standing figure (official layout: y down, shoulders 0.2 apart) whose wrists draw figure eights."""
    from vconductor.conducting.tuning import SHOULDER_CENTRE as shoulder_c
    from vconductor.conducting.tuning import SHOULDER_HALF_WIDTH as half

    t = np.arange(int(np.ceil(seconds * 30))) / 30.0
    frames = np.empty((len(t), 13, 2), np.float32)
    head = shoulder_c + (0, -0.09)
    pose = [
        *[head] * 5,  # nose, eyes and ears at one point: the benchmark times the arms
        shoulder_c + (half, 0),  # left shoulder (the figure faces the camera: image right)
        shoulder_c - (half, 0),
        shoulder_c + (0.14, 0.13),  # elbows
        shoulder_c + (-0.14, 0.13),
        shoulder_c + (0.16, 0.25),  # wrists (overwritten below)
        shoulder_c + (-0.16, 0.25),
        (0.565, 0.75),  # hips
        (0.435, 0.75),
    ]
    frames[:] = np.array(pose)
    phase = 2 * np.pi * t / 2.0
    for wrist, elbow, sign in ((9, 7, 1), (10, 8, -1)):
        frames[:, wrist, 0] = shoulder_c[0] + sign * (0.12 + 0.05 * np.sin(phase))
        frames[:, wrist, 1] = shoulder_c[1] + 0.12 + 0.05 * np.sin(2 * phase)
        frames[:, elbow] = (frames[:, wrist] + frames[:, 5 if sign > 0 else 6]) / 2 + (sign * 0.04, 0.05)
    return frames


def start_blender(workdir: Path):
    os.environ.setdefault("BLENDER_USER_RESOURCES", str(workdir / "blender-user"))
    import bpy  # noqa: I001 (addon_utils exists only once bpy is imported)
    import addon_utils

    sys.path.insert(0, str(REPO))
    addon_utils.enable(ADDON, default_set=True)
    atexit.register(lambda: addon_utils.disable(ADDON, default_set=True))  # bpy 4.5 hangs at exit otherwise
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.vconductor.create_rig()
    return bpy, bpy.context.view_layer.objects.active


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--synthetic", action="store_true", help="figure-eight keypoints instead of music")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        workdir = Path(tmp)
        source = "synthetic figure eights" if args.synthetic else "procedural conductor on real music"
        keypoints = synthetic_keypoints(seconds) if args.synthetic else procedural_keypoints(seconds, workdir)
        bpy, rig = start_blender(workdir)
        from virtual_conductor_addon.blender import armature, keys
        from virtual_conductor_addon.motion import LiftConfig, animate_rig, key_frames

        rest, (bone_map, _source) = armature.rig_rest(rig), armature.resolve_bone_map(rig)
        print(f"{machine()}; Blender {bpy.app.version_string}")
        print(
            f"{seconds:.0f} s of motion ({len(keypoints)} keypoint frames at 30 fps, {source}), {args.runs} runs"
        )
        for fps in (24, 60):
            frames, times = key_frames(1.0, 1.0 + seconds * fps, float(fps), seconds)
            lift_s, write_s = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                motion = animate_rig(keypoints, times, rest, bone_map, LiftConfig())
                t1 = time.perf_counter()
                action = keys.write_take(rig, "bench", frames, motion.rotations, motion.locations)
                t2 = time.perf_counter()
                lift_s.append(t1 - t0)
                write_s.append(t2 - t1)
                num_keys = len(frames) * sum(4 for _ in motion.rotations)  # quaternion bones
                bpy.data.actions.remove(action)
            lift, write = statistics.median(lift_s), statistics.median(write_s)
            print(
                f"{fps:>3} fps: {len(frames)} frames x {len(motion.rotations)} bones = {num_keys} keys | "
                f"animate_rig {lift:.3f} s | key writing {write:.3f} s ({num_keys / write / 1e6:.1f} M keys/s) | "
                f"total {lift + write:.3f} s (medians)"
            )


if __name__ == "__main__":
    main()
