"""The quick start's Blender half: the music in the sequencer, the default conductor rig animated by the add-on,
saved as a .blend, and an MP4 preview (Workbench, with the audio) rendered headless.

    .venv/bin/python scripts/make_scene.py AUDIO --addon dist/virtual_conductor-X.zip \
        --blend out/piece.blend --video out/piece.blender.mp4 [--model procedural] [--fps 24]

Runs the add-on exactly as a user would: installs the built extension zip into a throw-away Blender user folder,
lets it start the backend (`vconductor serve`) itself, and runs `vconductor.generate` on the sound strip.
"""

import argparse
import atexit
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

EXTENSION = "bl_ext.user_default.virtual_conductor"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audio", type=Path)
    p.add_argument("--addon", type=Path, required=True, help="the zip that build_addon.py wrote")
    p.add_argument("--blend", type=Path, required=True)
    p.add_argument("--video", type=Path, help="MP4 preview to render (skipped when absent)")
    p.add_argument("--model", default="", help="'procedural', a registered model, or empty for the default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fps", type=float, default=24.0, help="scene frame rate (23.976, 24, 25, 29.97, 30, ...)"
    )
    p.add_argument("--resolution", type=int, nargs=2, default=(512, 384))
    p.add_argument(
        "--backend",
        default=str(Path(sys.executable).with_name("vconductor")),
        help="the vconductor executable the add-on starts",
    )
    return p.parse_args(argv)


def isolated_blender_user_folder() -> Path:
    """Keep the user's own Blender configuration out of it: a temporary user-resources folder."""
    folder = Path(tempfile.mkdtemp(prefix="vconductor-blender-"))
    os.environ["BLENDER_USER_RESOURCES"] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@contextlib.contextmanager
def blender_output_to(log: Path):
    """Blender's C code prints to file descriptor 1 directly, so redirect the descriptor, not sys.stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(log, "w") as f:
        os.dup2(f.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def set_fps(scene, fps: float) -> None:
    """NTSC rates are stored as fps / fps_base (23.976 = 24 / 1.001)."""
    whole = round(fps)
    if abs(fps - whole) < 1e-6:
        scene.render.fps, scene.render.fps_base = whole, 1.0
    else:
        scene.render.fps, scene.render.fps_base = round(fps * 1.001), 1.001


def add_camera_and_world(bpy, rig) -> None:
    """A three-quarter view of the upper body (the hands reach forward, so a slight angle shows it) and a grey
    backdrop: what an animator would frame to judge the motion."""
    from mathutils import Vector

    scene = bpy.context.scene
    chest = rig.matrix_world @ Vector((0.0, 0.0, 1.3))
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = 50
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = chest + Vector((1.1, -3.0, 0.15))
    cam.rotation_euler = (chest - cam.location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = cam
    world = bpy.data.worlds.new("Backdrop")
    world.color = (0.32, 0.34, 0.38)
    scene.world = world


def setup_render(scene, video: Path, resolution) -> None:
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_cavity = True
    shading.show_shadows = True
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5.0: pick video before the container
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    ff = scene.render.ffmpeg
    ff.format = "MPEG4"
    ff.codec = "H264"
    ff.constant_rate_factor = "MEDIUM"
    ff.audio_codec = "AAC"
    ff.audio_bitrate = 192
    ff.audio_channels = "STEREO"
    scene.render.filepath = str(video)


def main(argv=None) -> int:
    args = parse_args(argv)
    for path, what in ((args.audio, "audio"), (args.addon, "add-on zip")):
        if not path.is_file():
            print(f"make_scene: {what} not found: {path}", file=sys.stderr)
            return 1
    isolated_blender_user_folder()
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # only importable once bpy is

    def disable_addon():  # bpy 4.5 hangs at exit while add-on classes are registered
        addon_utils.disable(EXTENSION, default_set=True)

    t0 = time.perf_counter()
    bpy.ops.extensions.package_install_files(
        filepath=str(args.addon.resolve()), repo="user_default", enable_on_install=True
    )
    atexit.register(disable_addon)
    prefs = bpy.context.preferences.addons[EXTENSION].preferences
    prefs.backend_mode = "START"
    prefs.backend_command = args.backend

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    set_fps(scene, args.fps)
    strip = scene.sequence_editor_create().strips.new_sound(
        args.audio.stem, str(args.audio.resolve()), channel=1, frame_start=1
    )
    if strip.sound.samplerate == 0:
        print(f"make_scene: Blender cannot read {args.audio}", file=sys.stderr)
        return 1
    scene.frame_start = 1
    scene.frame_end = int(strip.frame_final_end) - 1
    scene.sequence_editor.active_strip = strip

    bpy.ops.vconductor.create_rig()
    rig = bpy.context.active_object
    settings = scene.vconductor
    settings.sound_strip = strip.name
    settings.armature = rig
    settings.model = args.model
    settings.seed = args.seed
    result = bpy.ops.vconductor.generate()
    if result != {"FINISHED"}:
        print("make_scene: generation failed (see the message above)", file=sys.stderr)
        return 1
    t1 = time.perf_counter()
    action = rig.animation_data.action
    print(f"make_scene: {action.name!r} keyed on {rig.name} in {t1 - t0:.1f} s")

    add_camera_and_world(bpy, rig)
    strip.sound.pack()  # the .blend carries its music
    args.blend.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.blend.resolve()), compress=True)
    print(f"make_scene: wrote {args.blend}")
    if args.video:
        args.video.parent.mkdir(parents=True, exist_ok=True)
        setup_render(scene, args.video.resolve(), args.resolution)
        with blender_output_to(args.video.with_suffix(".render.log")):  # one line per frame otherwise
            bpy.ops.render.render(animation=True)
        print(f"make_scene: rendered {args.video} in {time.perf_counter() - t1:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
