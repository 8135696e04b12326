"""Users' rigs built in Blender from edit bones (head, tail, roll): Mixamo (with and without 'mixamorig:'),
Rigify deform (DEF-, split arm bones) and Rigify control (upper_arm_fk.L ...) naming, T/A-poses, long/short
arms, wide shoulders, rolled bones, unmapped intermediate bones; and what a generated take did to them."""

import math
from dataclasses import dataclass, field

import numpy as np

from .blender_scene import EXAMPLE, add_sound_strip, set_fps

MIXAMO = {
    "hips": "Hips",
    "spine": "Spine",
    "spine1": "Spine1",
    "spine2": "SpineTwist",
    "chest": "Spine2",
    "neck": "Neck",
    "head": "Head",
    "leg.L": "LeftUpLeg",
    "leg.R": "RightUpLeg",
    **{
        f"{k}.{s}": f"{'Left' if s == 'L' else 'Right'}{m}"
        for s in "LR"
        for k, m in (
            ("shoulder", "Shoulder"),
            ("upper_arm", "Arm"),
            ("forearm", "ForeArm"),
            ("hand", "Hand"),
            ("finger", "HandIndex1"),
            ("finger2", "HandIndex2"),
        )
    },
}
RIGIFY_DEF = {
    "hips": "DEF-spine",
    "spine": "DEF-spine.001",
    "spine1": "DEF-spine.002",
    "chest": "DEF-spine.003",
    "neck": "DEF-spine.004",
    "head": "DEF-spine.006",
    "leg.L": "DEF-thigh.L",
    "leg.R": "DEF-thigh.R",
    **{f"{k}.{s}": f"DEF-{k}.{s}" for s in "LR" for k in ("shoulder", "upper_arm", "forearm", "hand")},
    **{f"finger.{s}": f"DEF-f_index.01.{s}" for s in "LR"},
    **{f"finger2.{s}": f"DEF-f_index.02.{s}" for s in "LR"},
    **{f"upper_arm_half.{s}": f"DEF-upper_arm.{s}.001" for s in "LR"},
    **{f"forearm_half.{s}": f"DEF-forearm.{s}.001" for s in "LR"},
}
RIGIFY_CONTROL = {
    "hips": "torso",
    "spine": "spine_fk.001",
    "spine1": "spine_fk.002",
    "chest": "chest",
    "neck": "neck",
    "head": "head",
    "leg.L": "thigh_fk.L",
    "leg.R": "thigh_fk.R",
    **{
        f"{k}.{s}": f"{v}.{s}"
        for s in "LR"
        for k, v in (
            ("shoulder", "shoulder"),
            ("upper_arm", "upper_arm_fk"),
            ("forearm", "forearm_fk"),
            ("hand", "hand_fk"),
            ("finger", "f_index.01"),
            ("finger2", "f_index.02"),
            ("arm_parent", "MCH-upper_arm_parent"),
        )
    },
}
ROLLS = {
    "upper_arm.L": 90.0,
    "forearm.L": -135.0,
    "upper_arm.R": -135.0,
    "forearm.R": 90.0,
    "shoulder.L": 90.0,
    "hand.R": -135.0,
    "neck": 90.0,
    "head": -135.0,
}


@dataclass
class RigCase:
    names: dict[str, str]
    prefix: str = ""
    arm_angle_deg: float = 0.0  # 0 = T-pose; 40 = A-pose
    shoulder_half: float = 0.18
    upper: float = 0.29
    fore: float = 0.26
    rolls: dict[str, float] = field(default_factory=dict)
    split_arms: bool = False  # Rigify DEF: upper arm and forearm each in two bones
    arm_parent: bool = False  # Rigify control: an MCH bone between shoulder and upper_arm_fk
    euler: bool = False  # pose bones in XYZ Euler, as an FBX import leaves them
    fingers: dict[str, str] = field(default_factory=dict)  # semantic finger bone (index.01.L) -> bone name
    extras: dict[str, str] = field(default_factory=dict)  # leaf bone name -> the semantic bone it hangs from
    properties: dict[str, dict] = field(
        default_factory=dict
    )  # bone name -> custom properties of its pose bone

    def bone(self, semantic: str) -> str:
        return self.prefix + self.names.get(semantic, semantic)


def bone_specs(case: RigCase) -> list[tuple[str, str | None, np.ndarray, np.ndarray, float]]:
    """(name, parent, head, tail, roll_deg) of a humanoid; extras (Spine1, fingers, legs, baton) unmapped."""
    specs = []

    def add(semantic, parent, head, tail):
        parent_bone = None if parent is None else case.bone(parent)
        roll = case.rolls.get(semantic, 0.0)
        specs.append((case.bone(semantic), parent_bone, np.array(head, float), np.array(tail, float), roll))

    add("hips", None, (0, 0, 0.95), (0, 0, 1.06))
    add("spine", "hips", (0, 0, 1.06), (0, 0.01, 1.2))
    add("spine1", "spine", (0, 0.01, 1.2), (0, 0.01, 1.27))
    chest_parent = "spine1"
    if "spine2" in case.names:
        add("spine2", "spine1", (0, 0.01, 1.27), (0, 0.0, 1.32))
        chest_parent = "spine2"
    add("chest", chest_parent, (0, 0.0, 1.32), (0, 0, 1.43))
    if "neck2" in case.names:  # a two-bone neck (Daz, Character Creator): the upper half unmapped
        add("neck", "chest", (0, 0, 1.43), (0, -0.005, 1.49))
        add("neck2", "neck", (0, -0.005, 1.49), (0, -0.01, 1.54))
        add("head", "neck2", (0, -0.01, 1.54), (0, -0.01, 1.75))
    else:
        add("neck", "chest", (0, 0, 1.43), (0, -0.01, 1.54))
        add("head", "neck", (0, -0.01, 1.54), (0, -0.01, 1.75))
    for side, sign in (("L", 1.0), ("R", -1.0)):
        add(f"leg.{side}", "hips", (sign * 0.1, 0, 0.93), (sign * 0.1, 0, 0.5))
        a = math.radians(case.arm_angle_deg)
        direction = np.array([sign * math.cos(a), 0.0, -math.sin(a)])
        shoulder = np.array([sign * case.shoulder_half, 0.0, 1.42])
        add(f"shoulder.{side}", "chest", (sign * 0.03, 0.0, 1.41), shoulder)
        parent = f"shoulder.{side}"
        if case.arm_parent:
            add(f"arm_parent.{side}", parent, shoulder, shoulder + 0.05 * direction)
            parent = f"arm_parent.{side}"
        elbow = shoulder + case.upper * direction
        wrist = elbow + case.fore * direction
        if case.split_arms:
            add(f"upper_arm.{side}", parent, shoulder, (shoulder + elbow) / 2)
            add(f"upper_arm_half.{side}", f"upper_arm.{side}", (shoulder + elbow) / 2, elbow)
            add(f"forearm.{side}", f"upper_arm_half.{side}", elbow, (elbow + wrist) / 2)
            add(f"forearm_half.{side}", f"forearm.{side}", (elbow + wrist) / 2, wrist)
            hand_parent = f"forearm_half.{side}"
        else:
            add(f"upper_arm.{side}", parent, shoulder, elbow)
            add(f"forearm.{side}", f"upper_arm.{side}", elbow, wrist)
            hand_parent = f"forearm.{side}"
        add(f"hand.{side}", hand_parent, wrist, wrist + 0.08 * direction)
        if case.fingers:
            for name, parent, head, tail in hand_bones(case, side, sign, wrist, direction):
                specs.append((name, parent, head, tail, 0.0))
        else:
            add(f"finger.{side}", f"hand.{side}", wrist + 0.08 * direction, wrist + 0.12 * direction)
            add(f"finger2.{side}", f"finger.{side}", wrist + 0.12 * direction, wrist + 0.15 * direction)
    for name, semantic in case.extras.items():  # leaves (twist bones, IK controls), beside the mapped chain
        _, _, head, tail, _ = next(spec for spec in specs if spec[0] == case.bone(semantic))
        specs.append((case.prefix + name, case.bone(semantic), head, head + 0.5 * (tail - head), 0.0))
    return specs


FINGER_LAYOUT = {  # knuckle offset towards the thumb side (forward), segment lengths: a hand 0.18 long
    "index": (0.03, (0.04, 0.025, 0.02)),
    "middle": (0.01, (0.045, 0.028, 0.022)),
    "ring": (-0.01, (0.042, 0.026, 0.02)),
    "pinky": (-0.03, (0.032, 0.02, 0.018)),
}
FINGER_SPLAY = {"index": 0.2, "middle": 0.05, "ring": -0.08, "pinky": -0.2}  # fanned out, as real hands rest


def hand_bones(case: RigCase, side: str, sign: float, wrist: np.ndarray, direction: np.ndarray) -> list:
    """(name, parent, head, tail) of the fingers named in case.fingers: palm down (towards -Z in a T-pose, turned
    with the arm in an A-pose), the thumb forward (-Y) and below the palm."""
    forward = np.array([0.0, -1.0, 0.0])
    palm = sign * np.cross(direction, forward)  # out of the palm
    out = []
    for finger in ("thumb", "index", "middle", "ring", "pinky"):
        if finger == "thumb":
            head = wrist + 0.02 * direction + 0.025 * forward + 0.012 * palm
            along = (direction + forward + 0.5 * palm) / np.linalg.norm(direction + forward + 0.5 * palm)
            lengths = (0.035, 0.03, 0.025)
        else:
            offset, lengths = FINGER_LAYOUT[finger]
            along = direction + FINGER_SPLAY[finger] * forward + 0.1 * palm  # and curled a little at rest
            head, along = wrist + 0.09 * direction + offset * forward, along / np.linalg.norm(along)
        parent = case.bone(f"hand.{side}")
        for segment, length in enumerate(lengths, start=1):
            name = case.fingers.get(f"{finger}.{segment:02d}.{side}")
            if name is None:
                break
            tail = head + length * along
            out.append((case.prefix + name, parent, head, tail))
            parent, head = case.prefix + name, tail
    return out


def build_rig(bpy, case: RigCase, name: str = "UserRig"):
    """An armature object from edit bones (head, tail, roll) at a non-trivial object location."""
    armature = bpy.data.armatures.new(name)
    rig = bpy.data.objects.new(name, armature)
    rig.location = (0.4, -0.2, 0.1)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    specs = bone_specs(case)
    bpy.ops.object.mode_set(mode="EDIT")
    for bone_name, _parent, head, tail, roll in specs:
        bone = armature.edit_bones.new(bone_name)
        bone.head, bone.tail, bone.roll = head, tail, math.radians(roll)
    for bone_name, parent, *_ in specs:
        if parent:
            armature.edit_bones[bone_name].parent = armature.edit_bones[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    if case.euler:
        for pose_bone in rig.pose.bones:
            pose_bone.rotation_mode = "XYZ"
    for bone_name, properties in case.properties.items():
        for key, value in properties.items():
            rig.pose.bones[case.prefix + bone_name][key] = value
    return rig


def add_music(bpy, fps: int = 24, seconds: float = 8.0, base: float = 1.0):
    """The example music, trimmed to its first `seconds`, starting at scene frame 1 (fps / base frames/s)."""
    scene = bpy.context.scene
    set_fps(scene, fps, base)
    strip = add_sound_strip(scene, EXAMPLE, frame_start=1)
    strip.frame_offset_end = strip.frame_final_duration - round(seconds * fps / base)
    scene.frame_start, scene.frame_end = int(strip.frame_final_start), int(strip.frame_final_end) - 1
    return scene, strip


def evaluate_pose(bpy, scene, rig, frames) -> dict:
    """Per bone: armature-space heads and tails (F, 3), orientation (F, 3, 3), local pose rotation (F, 4) w,x,y,z
    and location (F, 3) (from matrix_basis, whatever the rotation mode), by letting Blender evaluate each frame."""
    names = [b.name for b in rig.pose.bones]
    heads, tails, basis, offsets, matrices = ({n: [] for n in names} for _ in range(5))
    for frame in frames:
        scene.frame_set(int(frame))
        for pose_bone in rig.pose.bones:
            heads[pose_bone.name].append(np.array(pose_bone.head))
            tails[pose_bone.name].append(np.array(pose_bone.tail))
            basis[pose_bone.name].append(np.array(pose_bone.matrix_basis.to_quaternion()))
            offsets[pose_bone.name].append(np.array(pose_bone.matrix_basis.translation))
            matrices[pose_bone.name].append(np.array(pose_bone.matrix.to_3x3()))
    return {
        "head": {n: np.array(v) for n, v in heads.items()},
        "tail": {n: np.array(v) for n, v in tails.items()},
        "rotation": {n: np.array(v) for n, v in basis.items()},
        "location": {n: np.array(v) for n, v in offsets.items()},
        "matrix": {n: np.array(v) for n, v in matrices.items()},  # (F, 3, 3) armature-space orientation
    }
