"""The guard: after a take is written, Blender evaluates a few frames and the elbows and wrists that deform the
mesh must be where the take put them. When they are not, something the add-on does not key overrides the bones
(a constraint, an IK chain, a driver): the user is told which bone is driven by what, and what to do."""

import numpy as np

from ..contract import LEFT_ELBOW, LEFT_WRIST, RIGHT_ELBOW, RIGHT_WRIST
from ..motion.rig_geometry import RigGeometry

CHECKED_FRAMES = 6
TOLERANCE = 0.05  # of the rig's shoulder width
NEAR_REST = 0.02  # a deforming bone "is" the joint when its rest head lies this close to it (shoulder widths)
JOINTS = {("L", "elbow"): LEFT_ELBOW, ("L", "wrist"): LEFT_WRIST, ("R", "elbow"): RIGHT_ELBOW}
JOINTS[("R", "wrist")] = RIGHT_WRIST
SIDE_NAMES = {"L": "left", "R": "right"}


def check_take_follows(rig, scene, frame_numbers, targets: np.ndarray, geo: RigGeometry) -> list[str]:
    """One message per joint whose bones do not follow the take at the checked frames (empty: all follow)."""
    joint_bones = {key: _bones_at_joint(rig, geo, *key) for key in JOINTS}
    picks = np.unique(np.linspace(0, len(frame_numbers) - 1, CHECKED_FRAMES).round().astype(int))
    errors = {(key, bone): 0.0 for key, bones in joint_bones.items() for bone in bones}
    current = scene.frame_current
    try:
        for index in picks:
            scene.frame_set(int(frame_numbers[index]))
            for key, bones in joint_bones.items():
                target = targets[index, JOINTS[key]]
                for bone in bones:
                    miss = float(np.linalg.norm(np.array(rig.pose.bones[bone].head) - target))
                    errors[(key, bone)] = max(errors[(key, bone)], miss / geo.shoulder_width)
    finally:
        scene.frame_set(current)
    messages = []
    for key, bones in joint_bones.items():
        failing = [bone for bone in bones if errors[(key, bone)] > TOLERANCE]
        if failing:
            messages.append(_explain(rig, key, failing[0], errors[(key, failing[0])]))
    return messages


def _bones_at_joint(rig, geo: RigGeometry, side: str, joint: str) -> list[str]:
    """The mapped bone whose head is the joint, and the deforming bones whose rest heads lie on it."""
    arm = geo.arms[side]
    rest = arm.elbow if joint == "elbow" else arm.wrist
    mapped = arm.forearm if joint == "elbow" else geo.bones.get(f"hand.{side}")
    bones = [mapped] if mapped and np.allclose(rig.data.bones[mapped].head_local, rest, atol=1e-4) else []
    for bone in rig.data.bones:
        distance = np.linalg.norm(np.array(bone.head_local) - rest) / geo.shoulder_width
        if bone.use_deform and bone.name not in bones and distance < NEAR_REST:
            bones.append(bone.name)
    return bones


def _explain(rig, key: tuple[str, str], bone: str, error: float) -> str:
    side, joint = key
    head = (
        f"The {SIDE_NAMES[side]} {joint} does not follow the take: bone '{bone}' is {error:.0%} of a shoulder "
        "width off"
    )
    causes = _drivers_of(rig, bone)
    if causes:
        return f"{head}; {causes}."
    return (
        f"{head}; no constraint, IK or driver on it or its parents was found: check that the bone map names the "
        "bones that move the mesh."
    )


def _drivers_of(rig, bone_name: str) -> str:
    """What overrides `bone_name`: IK chains through it, else the nearest constraints/drivers up its parents."""
    carried = set(_ik_chain(rig.pose.bones[bone_name], 0))  # the bone and everything above it
    for pose_bone in rig.pose.bones:
        for constraint in _active(pose_bone):
            if constraint.type == "IK" and carried & set(_ik_chain(pose_bone, constraint.chain_count)):
                return (
                    f"it is in the chain of IK constraint '{constraint.name}' on bone '{pose_bone.name}' "
                    f"(target {_target(constraint)}), which the bone map does not control. Mute that constraint "
                    "or set its influence to 0 (or switch the limb to FK), then generate again"
                )
    pose_bone = rig.pose.bones[bone_name]
    while pose_bone is not None:
        found = [
            f"{c.type.replace('_', ' ').title()} constraint '{c.name}' (target {_target(c)})"
            for c in _active(pose_bone)
        ]
        found += _driver_paths(rig, pose_bone.name)
        if found:
            return (
                f"bone '{pose_bone.name}' is driven by {', '.join(found)}, not by the keyed controls. Map the "
                "bones that drive it (e.g. the rig's FK controls), or mute what drives it"
            )
        pose_bone = pose_bone.parent
    return ""


def _active(pose_bone) -> list:
    return [c for c in pose_bone.constraints if c.enabled and c.influence > 0.0]


def _ik_chain(pose_bone, chain_count: int) -> list[str]:
    chain, bone = [], pose_bone
    while bone is not None and (chain_count == 0 or len(chain) < chain_count):
        chain.append(bone.name)
        bone = bone.parent
    return chain


def _target(constraint) -> str:
    target = getattr(constraint, "target", None)
    if target is None:
        return "none"
    sub = getattr(constraint, "subtarget", "")
    return f"'{target.name}'" + (f" bone '{sub}'" if sub else "")


def _driver_paths(rig, bone_name: str) -> list[str]:
    anim = rig.animation_data
    prefix = f'pose.bones["{bone_name}"]'
    if anim is None:
        return []
    return [
        f"a driver on {d.data_path[len(prefix) :].lstrip('.')}"
        for d in anim.drivers
        if d.data_path.startswith(prefix)
    ]
