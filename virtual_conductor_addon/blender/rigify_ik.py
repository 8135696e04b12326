"""Rigify's IK controls keyed from the take's FK motion, so a user can switch an arm to IK and keep the motion.

A take keys Rigify's FK controls (and IK_FK = 1). Baking evaluates every keyed frame: the FK arm as Blender poses
it, then the IK controls set to the FK controls' transforms (hand_ik on hand_fk, upper_arm_ik on upper_arm_fk,
scale left at 1) with the arm switched to IK, and upper_arm_ik turned about the shoulder-wrist line until the IK
elbow lies in the FK arm's plane (Rigify's arms default to no pole: the chain root's turn sets the elbow). The
IK controls' transforms go into the take, one key per frame. Wrists then match exactly; elbows within what
Rigify's IK stretch (0.1 on the chain) takes off the bent chain's lengths (about 1.5%).
"""

import bpy
import numpy as np
from mathutils import Matrix

from ..motion.rotations import angle_about, make_continuous
from . import compat, keys, request, takes

GROUP = "Rigify IK (baked)"
SWIVEL_TOLERANCE = 1e-5  # radians: the elbow's turn about the shoulder-wrist line still to correct
SWIVEL_ROUNDS = 8


def ik_arms(rig) -> dict[str, dict[str, str]]:
    """Per side, the Rigify arm's bones (FK and IK controls, the IK/FK switch's bone), where the rig has them."""
    bones, arms = rig.pose.bones, {}
    for side in "LR":
        names = {
            "upper_fk": f"upper_arm_fk.{side}",
            "fore_fk": f"forearm_fk.{side}",
            "hand_fk": f"hand_fk.{side}",
            "upper_ik": f"upper_arm_ik.{side}",
            "hand_ik": f"hand_ik.{side}",
            "switch": f"upper_arm_parent.{side}",
        }
        if all(name in bones for name in names.values()) and "IK_FK" in bones[names["switch"]]:
            arms[side] = names
    return arms


def bake_ik_from_fk(context, rig, action) -> int:
    """Key the IK controls of each Rigify arm over the take's keyed frames; returns the number of frames."""
    scene, arms = context.scene, ik_arms(rig)
    first, last = (round(f) for f in action.frame_range)
    frames = np.arange(first, last + 1)
    switches = [fc for fc in compat.action_fcurves(action) if fc.data_path.endswith('["IK_FK"]')]
    muted = [fc.mute for fc in switches]
    current = scene.frame_current
    poses = {name: [] for arm in arms.values() for name in (arm["upper_ik"], arm["hand_ik"])}
    try:
        for fcurve in switches:  # the bake switches arms itself, frame by frame
            fcurve.mute = True
        for frame in frames:
            for arm in arms.values():
                _set_switch(rig, arms, 1.0)
                scene.frame_set(int(frame))
                for name, basis in _ik_pose_of_fk(context, rig, arm).items():
                    poses[name].append(basis)
    finally:
        for fcurve, was in zip(switches, muted, strict=True):
            fcurve.mute = was
        _set_switch(rig, arms, 1.0)
        scene.frame_set(current)
    rotations = {name: make_continuous([m.to_quaternion() for m in mats]) for name, mats in poses.items()}
    locations = {name: np.array([m.translation for m in mats]) for name, mats in poses.items()}
    keys.add_to_take(rig, action, frames, rotations, locations, GROUP)
    return len(frames)


def _set_switch(rig, arms, value: float) -> None:
    for arm in arms.values():
        rig.pose.bones[arm["switch"]]["IK_FK"] = value
    rig.update_tag()


def _ik_pose_of_fk(context, rig, arm) -> dict[str, Matrix]:
    """The IK controls' local transforms (matrix_basis) that put the IK arm where the FK arm is now."""
    bones = rig.pose.bones
    shoulder, elbow = np.array(bones[arm["upper_fk"]].head), np.array(bones[arm["fore_fk"]].head)
    wrist = np.array(bones[arm["hand_fk"]].head)
    targets = {
        arm["upper_ik"]: bones[arm["upper_fk"]].matrix.copy(),
        arm["hand_ik"]: bones[arm["hand_fk"]].matrix,
    }
    targets[arm["hand_ik"]] = targets[arm["hand_ik"]].copy()
    for name, matrix in targets.items():
        _pose(context, rig, bones[name], matrix)
    bones[arm["switch"]]["IK_FK"] = 0.0
    rig.update_tag()
    context.view_layer.update()
    axis = (wrist - shoulder) / max(float(np.linalg.norm(wrist - shoulder)), 1e-12)
    upper = bones[arm["upper_ik"]]
    for _ in range(SWIVEL_ROUNDS):
        turn = angle_about(axis, np.array(upper.tail) - shoulder, elbow - shoulder)
        if abs(turn) < SWIVEL_TOLERANCE:
            break
        pivot = Matrix.Translation(upper.matrix.translation)
        turned = pivot @ Matrix.Rotation(turn, 4, axis.tolist()) @ pivot.inverted() @ upper.matrix
        _pose(context, rig, upper, turned)
    return {name: bones[name].matrix_basis.copy() for name in targets}


def _pose(context, rig, pose_bone, matrix) -> None:
    """Give `pose_bone` the armature-space `matrix` (its scale dropped: IK controls keep theirs at 1)."""
    basis = rig.convert_space(pose_bone=pose_bone, matrix=matrix, from_space="POSE", to_space="LOCAL")
    location, rotation, _scale = basis.decompose()
    pose_bone.matrix_basis = Matrix.LocRotScale(location, rotation, None)
    context.view_layer.update()


class VCONDUCTOR_OT_bake_rigify_ik(bpy.types.Operator):
    """Key Rigify's IK arm controls from the take's FK motion, so either IK or FK plays the same motion"""

    bl_idname = "vconductor.bake_rigify_ik"
    bl_label = "Bake Rigify IK"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        rig, reason = request.target_armature(context)
        if reason or not ik_arms(rig) or takes.active_take(rig) is None:
            cls.poll_message_set(reason or "Needs a generated Rigify rig with a take")
            return False
        return True

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        action = takes.active_take(rig)
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        count = bake_ik_from_fk(context, rig, action)
        sides = " and ".join({"L": "left", "R": "right"}[s] for s in ik_arms(rig))
        self.report({"INFO"}, f"Keyed the {sides} IK arm controls on {count} frames of '{action.name}'")
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_bake_rigify_ik,)
