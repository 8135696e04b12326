"""The default conductor rig, from rigs/*.json: an armature, a smooth skinned body and a baton in the right hand.

The body is one mesh grown from a stick figure with Blender's Skin and Subdivision Surface modifiers (applied),
its hands flattened into mittens, and weighted to the bones by distance to the stick figure's segments (scaled by
their thickness, blended over about a limb's radius around each joint). The baton is a separate object parented
to the right hand bone. Nothing but numpy and Blender's own modifiers: it builds in well under a second.
"""

import json
import math
from pathlib import Path

import bmesh
import bpy
import numpy as np
from mathutils import Matrix

from .baton import BATON_KEY

RIG_FILE = "conductor_rig.json"
SEGMENTS = 12  # around the baton
BLEND = 0.25  # joint blending width, in units of the limb's radius
MIN_WEIGHT = 0.02


def rig_definition_path() -> Path:
    """rigs/ inside the built add-on, else the repository's rigs/ beside the source package."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "rigs", package.parent / "rigs"):
        if (folder / RIG_FILE).is_file():
            return folder / RIG_FILE
    raise FileNotFoundError(f"{RIG_FILE} is missing from the add-on (looked in {package / 'rigs'})")


def load_definition(path: Path | None = None) -> dict:
    with open(path or rig_definition_path(), encoding="utf-8") as f:
        return json.load(f)


def build_rig(context, definition: dict | None = None, location=None) -> bpy.types.Object:
    """Create the armature, its skinned body and the baton in the active collection; return the armature."""
    definition = definition or load_definition()
    name = definition["name"]
    collection = context.collection or context.scene.collection
    armature = bpy.data.armatures.new(name)
    rig = bpy.data.objects.new(name, armature)
    rig.location = location if location is not None else context.scene.cursor.location
    collection.objects.link(rig)
    _add_bones(context, rig, definition["bones"])
    figure = definition["figure"]
    colours = figure.get("colours", {})
    body = _add_body(context, rig, figure, collection, name)
    body.data.materials.append(_material(f"{name} Clay", colours.get("body", (0.62, 0.62, 0.6))))
    baton = _add_baton(rig, figure["baton"], collection, name)
    baton.data.materials.append(_material(f"{name} Baton", colours.get("baton", (0.9, 0.86, 0.76))))
    return rig


def _add_bones(context, rig, bones: list[dict]) -> None:
    context.view_layer.objects.active = rig  # edit mode works on the active object
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        edit_bones = rig.data.edit_bones
        for spec in bones:
            bone = edit_bones.new(spec["name"])
            bone.head, bone.tail = spec["head"], spec["tail"]
            bone.roll = math.radians(spec.get("roll_deg", 0.0))
        for spec in bones:
            if spec.get("parent"):
                edit_bones[spec["name"]].parent = edit_bones[spec["parent"]]
                edit_bones[spec["name"]].use_connect = bool(spec.get("connect", False))
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")


# --- the stick figure the skin grows on ---------------------------------------------------------------------


def _point(rig, at) -> np.ndarray:
    """`[x, y, z]` in armature space, or "bone@t": the point at fraction t from the bone's head to its tail."""
    if isinstance(at, str):
        bone_name, t = at.split("@")
        bone = rig.data.bones[bone_name]
        head, tail = np.array(bone.head_local), np.array(bone.tail_local)
        return head + float(t) * (tail - head)
    return np.array(at, dtype=float)


def _mirrored(chain: dict) -> dict:
    """The left-side copy of a right-side chain: .R names become .L, x offsets and coordinates change sign."""
    flip = np.array([-1.0, 1.0, 1.0])

    def node(n: dict) -> dict:
        at = n["at"].replace(".R", ".L") if isinstance(n["at"], str) else (np.array(n["at"]) * flip).tolist()
        return {**n, "at": at, "offset": (np.array(n.get("offset", (0, 0, 0))) * flip).tolist()}

    return {**chain, "bone": chain["bone"].replace(".R", ".L"), "nodes": [node(n) for n in chain["nodes"]]}


def stick_figure(rig, chains: list[dict]):
    """Nodes (N, 3), skin radii (N, 2) and edges (i, j, bone) of the figure's chains; nodes at one place merge."""
    points, radii, edges, index = [], [], [], {}

    def node_index(position, radius) -> int:
        key = tuple(np.round(position, 4))
        if key not in index:
            index[key] = len(points)
            points.append(position)
            radii.append(radius)
        return index[key]

    for chain in [c for spec in chains for c in ([spec, _mirrored(spec)] if spec.get("mirror") else [spec])]:
        steps = int(chain.get("steps", 1))
        nodes = [
            (_point(rig, n["at"]) + np.array(n.get("offset", (0, 0, 0))), np.broadcast_to(n["r"], 2))
            for n in chain["nodes"]
        ]
        previous = node_index(*nodes[0])
        for (p0, r0), (p1, r1) in zip(nodes, nodes[1:], strict=False):
            for s in range(1, steps + 1):
                f = s / steps
                current = node_index(p0 + f * (p1 - p0), r0 + f * (r1 - r0))
                edges.append((previous, current, chain["bone"]))
                previous = current
    return np.array(points), np.array(radii, dtype=float), edges


# --- the body mesh -------------------------------------------------------------------------------------------


def _add_body(context, rig, figure: dict, collection, name: str) -> bpy.types.Object:
    points, radii, edges = stick_figure(rig, figure["skin"])
    mesh = _skinned_mesh(context, points, radii, edges, figure.get("subdivisions", 2))
    mesh.name = f"{name} Body"
    co = np.empty(3 * len(mesh.vertices))
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    weights = skin_weights(co, points, radii, edges)
    flatness = figure.get("flatten_hands", 1.0)
    for hand in ("hand.L", "hand.R"):
        bone = rig.data.bones[hand]
        co = flatten_hand(
            co, weights.get(hand), np.array(bone.head_local), np.array(bone.tail_local), flatness
        )
    for spec in figure.get("bumps", ()):
        centre = _point(rig, spec["at"]) + np.array(spec.get("offset", (0, 0, 0)))
        co = bump(co, centre, np.array(spec["direction"], dtype=float), spec["height"], spec["width"])
    mesh.vertices.foreach_set("co", co.ravel())
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    mesh.update()
    body = bpy.data.objects.new(f"{name} Body", mesh)
    collection.objects.link(body)
    body.parent = rig
    for bone_name, w in weights.items():
        group = body.vertex_groups.new(name=bone_name)
        for value in np.unique(w[w > 0]):  # one call per distinct weight keeps this fast
            group.add(np.flatnonzero(w == value).tolist(), float(value), "REPLACE")
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = rig
    modifier.use_deform_preserve_volume = True  # dual quaternions: elbows and wrists keep their volume
    return body


def _skinned_mesh(context, points, radii, edges, subdivisions: int) -> bpy.types.Mesh:
    """The stick figure through Skin + Subdivision Surface, evaluated into a plain mesh (in the scene's own
    collection while it is evaluated: the active one may be hidden, and hidden objects are not evaluated)."""
    stick = bpy.data.meshes.new("stick figure")
    stick.from_pydata(points.tolist(), [(i, j) for i, j, _ in edges], [])
    temp = bpy.data.objects.new("stick figure", stick)
    context.scene.collection.objects.link(temp)
    try:
        temp.modifiers.new("Skin", "SKIN")  # adds the skin radius layer
        skin = stick.skin_vertices[0].data
        skin.foreach_set("radius", radii.astype(np.float32).ravel())
        skin[0].use_root = True
        if subdivisions:
            smooth = temp.modifiers.new("Subdivision", "SUBSURF")
            smooth.levels = smooth.render_levels = subdivisions
        depsgraph = context.evaluated_depsgraph_get()
        depsgraph.update()
        mesh = bpy.data.meshes.new_from_object(temp.evaluated_get(depsgraph))
    finally:
        bpy.data.objects.remove(temp)
        bpy.data.meshes.remove(stick)
    shape = bmesh.new()  # the Skin modifier can leave a stray vertex inside a branching node
    shape.from_mesh(mesh)
    bmesh.ops.delete(shape, geom=[v for v in shape.verts if not v.link_edges], context="VERTS")
    shape.to_mesh(mesh)
    shape.free()
    return mesh


def skin_weights(co: np.ndarray, points: np.ndarray, radii: np.ndarray, edges: list) -> dict[str, np.ndarray]:
    """Per bone, a weight for each vertex: from its distance to the bone's segments divided by their thickness
    there (1 on the surface of a limb), a soft minimum over bones; tiny weights dropped, the rest sum to 1."""
    a = points[[i for i, _, _ in edges]]
    b = points[[j for _, j, _ in edges]]
    ra, rb = radii[[i for i, _, _ in edges]].max(axis=1), radii[[j for _, j, _ in edges]].max(axis=1)
    ab = b - a
    t = np.clip(np.einsum("vsk,sk->vs", co[:, None, :] - a[None], ab) / np.einsum("sk,sk->s", ab, ab), 0, 1)
    nearest = a[None] + t[..., None] * ab[None]
    scaled = np.linalg.norm(co[:, None, :] - nearest, axis=2) / (ra + t * (rb - ra))
    bones = sorted({bone for _, _, bone in edges})
    per_bone = np.stack([scaled[:, [e[2] == bone for e in edges]].min(axis=1) for bone in bones], axis=1)
    w = np.exp(-(per_bone - per_bone.min(axis=1, keepdims=True)) / BLEND)
    w[w < MIN_WEIGHT] = 0.0
    w = np.round(w / w.sum(axis=1, keepdims=True), 3)
    return {bone: w[:, k] for k, bone in enumerate(bones) if w[:, k].any()}


def flatten_hand(co, weight, head, tail, flatness: float) -> np.ndarray:
    """Squash a hand's vertices towards its palm plane (the plane through the bone and the world's Y axis, palms
    down in the rest pose) by `flatness`, in proportion to their weight on the hand."""
    if weight is None or flatness >= 1.0:
        return co
    along = (tail - head) / np.linalg.norm(tail - head)
    normal = np.cross(along, (0.0, 1.0, 0.0))
    normal /= np.linalg.norm(normal)
    height = (co - head) @ normal
    return co - ((1.0 - flatness) * weight * height)[:, None] * normal


def bump(co, centre, direction, height: float, width: float) -> np.ndarray:
    """Push the surface out along `direction` by `height` at `centre`, fading out over `width` (a Gaussian):
    small features such as the nose, which would come out as a snout from the Skin modifier."""
    direction = direction / np.linalg.norm(direction)
    falloff = np.exp(-0.5 * np.sum((co - centre) ** 2, axis=1) / width**2)
    return co + height * falloff[:, None] * direction


# --- the baton ------------------------------------------------------------------------------------------------


def baton_profile(length: float, behind: float, radius, bulb_radius: float) -> list[tuple[float, float]]:
    """(distance along the baton from the grip, radius): a round handle bulb behind the grip, then a shaft
    tapering from radius[0] to radius[1] at the tip."""
    bulb = [
        (-behind + bulb_radius * (1 - math.cos(a)), bulb_radius * math.sin(a)) for a in np.linspace(0, 2, 7)
    ]
    shaft_start = bulb[-1][0] + bulb_radius * 0.6
    shaft = [
        (s, radius[0] + (radius[1] - radius[0]) * (s - shaft_start) / (length - behind - shaft_start))
        for s in np.linspace(shaft_start, length - behind, 6)
    ]
    return [*bulb, *shaft, (length - behind + radius[1], 0.0)]


def _lathe(profile: list[tuple[float, float]]) -> tuple[np.ndarray, list]:
    """A closed surface of revolution around +Z; rings of radius 0 become single vertices (the ends)."""
    angles = np.linspace(0, 2 * np.pi, SEGMENTS, endpoint=False)
    verts, rings = [], []
    for z, r in profile:
        count = 1 if r == 0 else SEGMENTS
        rings.append(list(range(len(verts), len(verts) + count)))
        verts += [(0.0, 0.0, z)] if r == 0 else [(r * math.cos(a), r * math.sin(a), z) for a in angles]
    faces = []
    for lower, upper in zip(rings, rings[1:], strict=False):
        for k in range(SEGMENTS):
            quad = [
                lower[k % len(lower)],
                lower[(k + 1) % len(lower)],
                upper[(k + 1) % len(upper)],
                upper[k % len(upper)],
            ]
            faces.append(list(dict.fromkeys(quad)))  # a fan where a ring is a single vertex
    return np.array(verts), faces


def _add_baton(rig, spec: dict, collection, name: str) -> bpy.types.Object:
    """The baton, gripped at `grip` and pointing at `toward` (both points as in the skin), parented to hand.R."""
    grip, toward = _point(rig, spec["grip"]), _point(rig, spec["toward"])
    mesh = baton_mesh(f"{name} Baton", grip, toward - grip, spec)
    baton = bpy.data.objects.new(f"{name} Baton", mesh)
    baton[BATON_KEY] = True  # takes move it to the conducting hand or hide it (baton.py)
    collection.objects.link(baton)
    baton.parent, baton.parent_type, baton.parent_bone = rig, "BONE", "hand.R"
    hand = rig.data.bones["hand.R"]  # a bone parent's frame is the bone's tail
    baton.matrix_parent_inverse = (hand.matrix_local @ Matrix.Translation((0.0, hand.length, 0.0))).inverted()
    return baton


def baton_mesh(name: str, grip: np.ndarray, direction: np.ndarray, spec: dict) -> bpy.types.Mesh:
    """A baton's mesh in armature space: gripped at `grip`, pointing along `direction`; `spec` as the rig
    definition's baton (length, behind, radius, bulb_radius)."""
    axis = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, axis)
    u /= np.linalg.norm(u)
    frame = np.column_stack([u, np.cross(axis, u), axis])
    profile = baton_profile(spec["length"], spec["behind"], spec["radius"], spec["bulb_radius"])
    local, faces = _lathe(profile)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata((local @ frame.T + np.asarray(grip, dtype=float)).tolist(), [], faces)
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    mesh.update()
    return mesh


def _material(name: str, colour) -> bpy.types.Material:
    """Matte clay: the viewport/Workbench colour and the Principled BSDF's base colour (EEVEE, Cycles)."""
    material = bpy.data.materials.new(name)
    material.diffuse_color = (*colour, 1.0)
    material.roughness = 0.7
    material.use_nodes = True
    principled = material.node_tree.nodes.get("Principled BSDF") if material.node_tree else None
    if principled is not None:
        principled.inputs["Base Color"].default_value = (*colour, 1.0)
        principled.inputs["Roughness"].default_value = 0.7
    return material
