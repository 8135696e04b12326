"""The default conductor rig: an armature with a simple body (one rigid primitive per bone), from rigs/*.json."""

import json
import math
from pathlib import Path

import bpy
import numpy as np

RIG_FILE = "conductor_rig.json"
SEGMENTS = 12  # around cylinders and spheres


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
    """Create the armature and its skinned body in the active collection; return the (active) armature."""
    definition = definition or load_definition()
    name = definition["name"]
    collection = context.collection or context.scene.collection
    armature = bpy.data.armatures.new(name)
    rig = bpy.data.objects.new(name, armature)
    rig.location = location if location is not None else context.scene.cursor.location
    collection.objects.link(rig)
    _add_bones(context, rig, definition["bones"])
    _add_body(rig, definition["body"], collection, name)
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


def _add_body(rig, parts: list[dict], collection, name: str) -> bpy.types.Object:
    verts, faces, groups = [], [], {}
    for part in parts:
        bone = rig.data.bones[part["bone"]]
        start = np.array(part.get("start", bone.head_local), dtype=float)
        end = np.array(part.get("end", bone.tail_local), dtype=float)
        part_verts, part_faces = _primitive(part["shape"], part["size"], start, end)
        groups.setdefault(part["bone"], []).extend(range(len(verts), len(verts) + len(part_verts)))
        faces.extend([[i + len(verts) for i in face] for face in part_faces])
        verts.extend(part_verts.tolist())
    mesh = bpy.data.meshes.new(f"{name} Body")
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    body = bpy.data.objects.new(f"{name} Body", mesh)
    collection.objects.link(body)
    body.parent = rig
    for bone_name, indices in groups.items():
        body.vertex_groups.new(name=bone_name).add(indices, 1.0, "REPLACE")
    body.modifiers.new("Armature", "ARMATURE").object = rig
    return body


def _frame(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, float]:
    """An orthonormal frame (columns u, v, axis) along start -> end, and its length."""
    axis = end - start
    length = float(np.linalg.norm(axis))
    axis = axis / length
    helper = np.array([0.0, 1.0, 0.0]) if abs(axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, axis)
    u /= np.linalg.norm(u)
    return np.column_stack([u, np.cross(axis, u), axis]), length


def _primitive(shape: str, size: list[float], start: np.ndarray, end: np.ndarray):
    frame, length = _frame(start, end)
    if shape == "box":  # size = (width, depth) across the bone; full length along it
        w, d = size[0] / 2, size[1] / 2
        corners = np.array([[x, y, z] for z in (0, length) for y in (-d, d) for x in (-w, w)])
        local, faces = (
            corners,
            [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]],
        )
        if abs(frame[2, 2]) > 0.9:  # upright box: keep width along X, depth along Y
            frame = np.column_stack([[1.0, 0, 0], [0, np.sign(frame[2, 2]), 0], frame[:, 2]])
    elif shape == "cylinder":  # size = (radius,)
        angles = np.linspace(0, 2 * np.pi, SEGMENTS, endpoint=False)
        ring = np.column_stack([np.cos(angles), np.sin(angles)]) * size[0]
        local = np.vstack([np.column_stack([ring, np.full(SEGMENTS, z)]) for z in (0.0, length)])
        n = SEGMENTS
        faces = [[i, (i + 1) % n, n + (i + 1) % n, n + i] for i in range(n)]
        faces += [list(range(n))[::-1], list(range(n, 2 * n))]
    elif shape == "sphere":  # size = (radius,), centred on the middle of start -> end
        rings = SEGMENTS // 2
        lat = np.linspace(0, np.pi, rings + 1)[1:-1]
        lon = np.linspace(0, 2 * np.pi, SEGMENTS, endpoint=False)
        r = size[0]
        body = [
            [r * np.sin(a) * np.cos(b), r * np.sin(a) * np.sin(b), r * np.cos(a)] for a in lat for b in lon
        ]
        local = np.array([[0, 0, r], *body, [0, 0, -r]]) + [0, 0, length / 2]
        top, bottom, n = 0, len(local) - 1, SEGMENTS
        faces = [[top, 1 + (i + 1) % n, 1 + i] for i in range(n)]
        for ring in range(rings - 2):
            a, b = 1 + ring * n, 1 + (ring + 1) * n
            faces += [[a + i, a + (i + 1) % n, b + (i + 1) % n, b + i] for i in range(n)]
        last = 1 + (rings - 2) * n
        faces += [[bottom, last + i, last + (i + 1) % n] for i in range(n)]
    else:
        raise ValueError(f"unknown body shape '{shape}' in the rig definition")
    return local @ frame.T + start, faces
