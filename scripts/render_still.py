"""A still of the conductor at a beat: the default rig animated by the add-on, rendered with Workbench, headless.

    .venv/bin/python scripts/render_still.py --out out/beat.png [--audio examples/ode_to_joy.ogg] \
        [--addon dist/virtual_conductor-X.zip] [--model procedural] [--fps 24] [--beat 4]

Uses the add-on from the source tree (or the built zip with --addon, installed as a user would), lets it start
the backend, generates on the sound strip, then picks a beat: the frame where the right wrist (the baton hand)
is lowest in the generated keypoints (a local maximum of its image y, y pointing down), the `--beat`-th such
ictus. Frames the upper body from three-quarter front on a grey backdrop, and writes one PNG.
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np
from scene_setup import (
    REPO,
    SceneError,
    blender_output_to,
    conducted_scene,
    enable_addon,
    frame_the_upper_body,
    isolated_blender_user_folder,
    workbench,
)

RIGHT_WRIST = 10


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--audio", type=Path, default=REPO / "examples" / "ode_to_joy.ogg")
    p.add_argument("--addon", type=Path, help="the zip build_addon.py wrote (default: the source tree)")
    p.add_argument("--model", default="procedural")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=float, default=24.0)
    p.add_argument("--beat", type=int, default=4, help="which ictus of the piece to show (1 = the first)")
    p.add_argument("--resolution", type=int, nargs=2, default=(720, 720))
    p.add_argument(
        "--backend",
        default=str(Path(sys.executable).with_name("vconductor")),
        help="the vconductor executable the add-on starts",
    )
    return p.parse_args(argv)


def ictus_times(keypoints: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """Seconds at which the right wrist is lowest within each beat: local maxima of its image y, lightly
    smoothed, that stand out from their surroundings (prominence above a tenth of its range)."""
    y = keypoints[:, RIGHT_WRIST, 1].astype(np.float64)
    kernel = np.exp(-0.5 * (np.arange(-3, 4) / 1.5) ** 2)
    y = np.convolve(np.pad(y, 3, mode="edge"), kernel / kernel.sum(), mode="valid")
    peaks = [i for i in range(1, len(y) - 1) if y[i] >= y[i - 1] and y[i] > y[i + 1]]
    window = round(0.25 * fps)
    threshold = 0.1 * np.ptp(y)
    chosen = [i for i in peaks if y[i] - y[max(i - window, 0) : i + window + 1].min() > threshold]
    return np.array(chosen, dtype=np.float64) / fps


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.audio.is_file():
        print(f"render_still: audio not found: {args.audio}", file=sys.stderr)
        return 1
    isolated_blender_user_folder()
    import bpy

    t0 = time.perf_counter()
    try:
        name = enable_addon(args.addon, args.backend)
        scene, strip, rig = conducted_scene(args.audio, args.fps, args.model, args.seed)
    except SceneError as exc:
        print(f"render_still: {exc}", file=sys.stderr)
        return 1
    take_data = importlib.import_module(f"{name}.blender.take_data")
    action = rig.animation_data.action
    take = take_data.take_keypoints(action)
    beats = ictus_times(take.keypoints, take.fps)
    if len(beats) == 0:
        print("render_still: no beat found in the generated motion", file=sys.stderr)
        return 1
    beat_s = beats[min(args.beat, len(beats)) - 1]
    fps = scene.render.fps / scene.render.fps_base
    frame = int(round(strip.frame_final_start + beat_s * fps))
    shown = min(args.beat, len(beats))
    print(
        f"render_still: {action.name!r} in {time.perf_counter() - t0:.1f} s; {len(beats)} ictus found, "
        f"showing #{shown} at {beat_s:.2f} s = frame {frame}"
    )

    frame_the_upper_body(rig)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    workbench(scene, args.resolution)
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(args.out.resolve())
    scene.frame_set(frame)
    with blender_output_to(args.out.with_suffix(".render.log")):
        bpy.ops.render.render(write_still=True)
    print(f"render_still: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
