"""A still of the conductor at a beat: the default rig animated by the add-on, rendered with Workbench, headless.

    .venv/bin/python scripts/render_still.py --out out/beat.png [--audio examples/ode_to_joy.ogg] \
        [--addon dist/virtual_conductor-X.zip] [--model procedural] [--fps 24] [--beat 4]

Uses the add-on from the source tree (or the built zip with --addon, installed as a user would), lets it start
the backend, generates on the sound strip, then picks a beat: the frame where the right wrist (the baton hand)
is lowest in the generated keypoints (a local maximum of its image y, y pointing down), the `--beat`-th such
ictus. Frames the upper body from three-quarter front on a grey backdrop, and writes one PNG.
"""

import argparse
import atexit
import importlib
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_scene import EXTENSION, blender_output_to, isolated_blender_user_folder, set_fps  # noqa: E402

SOURCE_ADDON = "virtual_conductor_addon"
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


def enable_addon(addon: Path | None) -> str:
    """The module name of the add-on, enabled from the zip or the source tree; disabled again at exit."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # only importable once bpy is
    if addon is not None:
        bpy.ops.extensions.package_install_files(
            filepath=str(addon.resolve()), repo="user_default", enable_on_install=True
        )
        name = EXTENSION
    else:
        sys.path.insert(0, str(REPO))
        name = SOURCE_ADDON
        if addon_utils.enable(name, default_set=True) is None:
            raise SystemExit("render_still: the add-on did not enable from the source tree")
    atexit.register(addon_utils.disable, name, default_set=True)  # bpy 4.5 hangs at exit otherwise
    return name


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


def frame_the_upper_body(bpy, rig) -> None:
    """Camera three-quarter front from the baton side (the character's right), a little above the chest, so the
    baton reaching forward shows in profile; grey world."""
    from mathutils import Vector

    scene = bpy.context.scene
    target = rig.matrix_world @ Vector((-0.15, -0.2, 1.25))
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = 85
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = target + Vector((-1.7, -2.5, 0.3))
    cam.rotation_euler = (target - cam.location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = cam
    world = bpy.data.worlds.new("Backdrop")
    world.color = (0.35, 0.36, 0.38)
    scene.world = world


def setup_still(scene, out: Path, resolution) -> None:
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "SINGLE"
    shading.single_color = (0.8, 0.72, 0.6)
    shading.show_cavity = True
    shading.show_shadows = True
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.audio.is_file():
        print(f"render_still: audio not found: {args.audio}", file=sys.stderr)
        return 1
    isolated_blender_user_folder()
    import bpy

    name = enable_addon(args.addon)
    take_data = importlib.import_module(f"{name}.blender.take_data")
    prefs = bpy.context.preferences.addons[name].preferences
    prefs.backend_mode, prefs.backend_command = "START", args.backend

    t0 = time.perf_counter()
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    set_fps(scene, args.fps)
    strip = scene.sequence_editor_create().strips.new_sound(
        args.audio.stem, str(args.audio.resolve()), channel=1, frame_start=1
    )
    if strip.sound.samplerate == 0:
        print(f"render_still: Blender cannot read {args.audio}", file=sys.stderr)
        return 1
    scene.frame_start, scene.frame_end = 1, int(strip.frame_final_end) - 1
    scene.sequence_editor.active_strip = strip
    bpy.ops.vconductor.create_rig()
    rig = bpy.context.active_object
    settings = scene.vconductor
    settings.armature, settings.model, settings.seed = rig, args.model, args.seed
    if bpy.ops.vconductor.generate() != {"FINISHED"}:
        print("render_still: generation failed (see the message above)", file=sys.stderr)
        return 1
    action = rig.animation_data.action
    take = take_data.take_keypoints(action)
    beats = ictus_times(take.keypoints, take.fps)
    if len(beats) == 0:
        print("render_still: no beat found in the generated motion", file=sys.stderr)
        return 1
    beat_s = beats[min(args.beat, len(beats)) - 1]
    fps = scene.render.fps / scene.render.fps_base
    frame = int(round(strip.frame_final_start + beat_s * fps))
    print(f"render_still: {action.name!r} in {time.perf_counter() - t0:.1f} s; {len(beats)} ictus found, "
          f"showing #{min(args.beat, len(beats))} at {beat_s:.2f} s = frame {frame}")  # fmt: skip

    frame_the_upper_body(bpy, rig)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    setup_still(scene, args.out.resolve(), args.resolution)
    scene.frame_set(frame)
    with blender_output_to(args.out.with_suffix(".render.log")):
        bpy.ops.render.render(write_still=True)
    print(f"render_still: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
