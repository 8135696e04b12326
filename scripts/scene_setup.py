"""What scripts/make_scene.py and scripts/render_still.py share: real Blender (the bpy module) set up as a user
would have it: the add-on enabled, the music in the sequencer, the default rig keyed by `vconductor.generate`,
a camera on the upper body, and Workbench rendering."""

import atexit
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXTENSION = "bl_ext.user_default.virtual_conductor"  # the module name of the installed extension zip
SOURCE_ADDON = "virtual_conductor_addon"  # the module name when enabled from this source tree


class SceneError(Exception):
    """Why the scene could not be made, as one line."""


def isolated_blender_user_folder() -> Path:
    """Keep the user's own Blender configuration out of it: a temporary user-resources folder (before bpy)."""
    folder = Path(tempfile.mkdtemp(prefix="vconductor-blender-"))
    os.environ["BLENDER_USER_RESOURCES"] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def enable_addon(addon_zip: Path | None, backend: str) -> str:
    """Install the zip (or enable the source tree), point it at the backend; disabled again at exit, since
    bpy 4.5 hangs at exit while add-on classes are registered. Returns the add-on's module name."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # only importable once bpy is
    if addon_zip is not None:
        bpy.ops.extensions.package_install_files(
            filepath=str(addon_zip.resolve()), repo="user_default", enable_on_install=True
        )
        name = EXTENSION
    else:
        sys.path.insert(0, str(REPO))
        name = SOURCE_ADDON
        if addon_utils.enable(name, default_set=True) is None:
            raise SceneError("the add-on did not enable from the source tree")
    atexit.register(addon_utils.disable, name, default_set=True)
    prefs = bpy.context.preferences.addons[name].preferences
    prefs.backend_mode, prefs.backend_command = "START", backend
    return name


def set_fps(scene, fps: float) -> None:
    """NTSC rates are stored as fps / fps_base (23.976 = 24 / 1.001)."""
    whole = round(fps)
    if abs(fps - whole) < 1e-6:
        scene.render.fps, scene.render.fps_base = whole, 1.0
    else:
        scene.render.fps, scene.render.fps_base = round(fps * 1.001), 1.001


def conducted_scene(audio: Path, fps: float, model: str, seed: int):
    """A new scene with `audio` as a sound strip from frame 1 and the default rig keyed to it: (scene, strip, rig)."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    set_fps(scene, fps)
    strip = scene.sequence_editor_create().strips.new_sound(
        audio.stem, str(audio.resolve()), channel=1, frame_start=1
    )
    if strip.sound.samplerate == 0:
        raise SceneError(f"Blender cannot read {audio}")
    scene.frame_start, scene.frame_end = 1, int(strip.frame_final_end) - 1
    scene.sequence_editor.active_strip = strip
    bpy.ops.vconductor.create_rig()
    rig = bpy.context.active_object
    settings = scene.vconductor
    settings.sound_strip, settings.armature, settings.model, settings.seed = strip.name, rig, model, seed
    if bpy.ops.vconductor.generate() != {"FINISHED"}:
        raise SceneError("generation failed (see the message above)")
    return scene, strip, rig


def frame_the_upper_body(rig) -> None:
    """Camera three-quarter front from the baton side (the character's right), a little above the chest, so the
    baton reaching forward shows in profile; grey world."""
    import bpy
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


def workbench(scene, resolution) -> None:
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"  # the rig's clay body and its lighter baton
    shading.show_cavity = True
    shading.show_shadows = False  # 0.45 -> 0.33 s a frame here, and no stripes across the smooth body
    scene.display.render_aa = "FXAA"  # the default 8 samples took ~2 s a frame for the skinned figure
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    scene.render.dither_intensity = 0.0  # no noise: a far smaller PNG


@contextlib.contextmanager
def blender_output_to(log: Path):
    """Blender's C code prints to file descriptors 1 and 2 directly (a line per frame, and harmless EGL notices
    from software OpenGL), so redirect the descriptors, not sys.stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "w") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
