"""A still of the default conductor figure in a conducting pose (no backend, no music), rendered headless.

    .venv/bin/python scripts/render_figure.py --out docs/images/default_figure.png [--engine workbench|eevee]

Builds the rig with the add-on's rig builder (as *Create Conductor Rig* does), aims the arms as at the top of a
beat (baton raised in front, left hand up, palm out), frames the whole figure from three-quarter front and writes
one PNG. Prints how long the figure took to build.
"""

import argparse
import math
import sys
import time
from pathlib import Path

from scene_setup import REPO, blender_output_to, isolated_blender_user_folder

# armature-space direction each bone is aimed along and a twist about it (degrees), parents first
# (+X = the figure's left, -Y = its front)
CONDUCTING_POSE = {
    "upper_arm.R": ((-0.35, -0.45, -0.82), 0.0),
    "forearm.R": ((0.1, -0.95, 0.25), 0.0),
    "hand.R": ((-0.45, -0.85, 0.15), -45.0),
    "upper_arm.L": ((0.35, -0.4, -0.85), 0.0),
    "forearm.L": ((-0.15, -0.9, 0.4), 0.0),
    "hand.L": ((-0.05, -0.55, 0.85), 0.0),
    "head": ((0.0, -0.12, 1.0), 0.0),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--engine", choices=("workbench", "eevee"), default="workbench")
    p.add_argument("--resolution", type=int, nargs=2, default=(640, 640))
    p.add_argument("--view", choices=tuple(VIEWS), default="three-quarter")
    p.add_argument("--rest", action="store_true", help="keep the rest pose (A-pose)")
    return p.parse_args(argv)


def load_rig_builder():
    """The add-on's rig builder, imported from the source tree without enabling (registering) the add-on."""
    sys.path.insert(0, str(REPO))
    from virtual_conductor_addon.blender import rig_builder

    return rig_builder


def aim(bpy, rig, pose: dict) -> None:
    """Turn each pose bone (in order) to point along its armature-space direction, then twist it about itself."""
    from mathutils import Matrix, Quaternion, Vector

    for name, (direction, twist_deg) in pose.items():
        bpy.context.view_layer.update()
        pose_bone = rig.pose.bones[name]
        current = pose_bone.matrix.copy()
        target = Vector(direction).normalized()
        twist = Quaternion(target, math.radians(twist_deg))
        turn = twist @ Vector(current.col[1][:3]).rotation_difference(target)
        rotation = turn.to_matrix() @ current.to_3x3()
        pose_bone.matrix = Matrix.Translation(current.translation) @ rotation.to_4x4()
    bpy.context.view_layer.update()


VIEWS = {"three-quarter": (-1.4, -2.95, 0.4), "front": (0.0, -3.5, 0.2), "side": (-3.5, 0.0, 0.2)}


def stage(bpy, scene, engine: str, resolution, view: str) -> None:
    """Camera three-quarter front from the baton side, whole figure in view; grey backdrop; the engine."""
    from mathutils import Vector

    target = Vector((-0.05, -0.1, 0.9))
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.lens = 60
    scene.collection.objects.link(cam)
    cam.location = target + Vector(VIEWS[view])
    cam.rotation_euler = (target - cam.location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = cam
    scene.world = bpy.data.worlds.new("Backdrop")
    scene.world.color = (0.2, 0.21, 0.23)
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 100
    scene.render.dither_intensity = 0.0  # no noise: a far smaller PNG
    if engine == "eevee":
        scene.render.engine = "BLENDER_EEVEE_NEXT" if bpy.app.version < (5, 0, 0) else "BLENDER_EEVEE"
        sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
        sun.rotation_euler = (0.8, 0.2, -0.6)
        sun.data.energy = 3.0
        scene.collection.objects.link(sun)
        return
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light, shading.color_type = "STUDIO", "MATERIAL"
    shading.show_cavity = True
    shading.show_shadows = False


def main(argv=None) -> int:
    args = parse_args(argv)
    isolated_blender_user_folder()
    import bpy

    rig_builder = load_rig_builder()
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    t0 = time.perf_counter()
    rig = rig_builder.build_rig(bpy.context, location=(0.0, 0.0, 0.0))
    built = time.perf_counter() - t0
    if not args.rest:
        aim(bpy, rig, CONDUCTING_POSE)
    stage(bpy, scene, args.engine, args.resolution, args.view)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(args.out.resolve())
    with blender_output_to(args.out.with_suffix(".render.log")):
        bpy.ops.render.render(write_still=True)
    args.out.with_suffix(".render.log").unlink(missing_ok=True)
    body = next(o for o in rig.children if o.type == "MESH" and o.parent_type == "OBJECT")
    print(f"render_figure: built in {built:.2f} s ({len(body.data.vertices)} vertices); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
