"""Keypoints -> keyable pose rotations for one armature: the one entry point the Blender layer calls."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..contract import (
    ARM_JOINTS,
    FPS,
    LEFT_ELBOW,
    LEFT_SHOULDER,
    LEFT_WRIST,
    RIGHT_ELBOW,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
)
from .body_signals import authored_head_angles, authored_head_nod, body_signals
from .bone_map import BoneMap
from .errors import MotionError
from .fit import choose_fit
from .girdle import follow_authored_shoulders, reach_with_shoulders
from .hands import baton_line, conducting_hands
from .keypoints import check_keypoints, shoulder_width, to_body_frame, to_frontal_plane
from .lifting import LiftConfig, place_arm
from .posing import PoseSolver
from .retime import key_frames, sample_at
from .rig import RigRest
from .rig_geometry import SIDES, RigGeometry, rig_geometry
from .rotations import make_continuous, normalize, quat_to_matrix
from .smoothing import gaussian_smooth, smooth_within
from .wrist_flex import baton_directions, flex_wrist

__all__ = ["MotionError", "RigAnimation", "animate_rig", "key_frames"]

SIDE_ARM_JOINTS = {"L": (LEFT_ELBOW, LEFT_WRIST), "R": (RIGHT_ELBOW, RIGHT_WRIST)}
SIDE_SHOULDER_JOINT = {"L": LEFT_SHOULDER, "R": RIGHT_SHOULDER}


@dataclass
class RigAnimation:
    rotations: dict[str, np.ndarray]  # rig bone -> (F, 4) float32 w, x, y, z: pose_bone.rotation_quaternion
    locations: dict[str, np.ndarray]  # rig bone -> (F, 3) pose_bone.location (the hips bone, only with sway)
    targets: np.ndarray  # (F, 13, 3) armature-space joint targets (diagnostics)
    scale: float = 0.0  # rig units per keypoint shoulder width (the rig's shoulder width)
    notes: list[str] = field(default_factory=list)  # mapping problems that were worked around


def animate_rig(
    keypoints,
    times_s,
    rig: RigRest,
    bone_map: BoneMap,
    config: LiftConfig | None = None,
    keypoints3d=None,
    baton_tip=None,
    baton_side: str = "R",
) -> RigAnimation:
    """Pose rotations (local, relative to each bone's own rest pose) that make the rig's elbows and wrists
    follow the keypoints (T, 13, 2) at 30 fps, sampled at `times_s` (audio seconds, see key_frames).
    With `keypoints3d` (T, 13, 3, the authored body frame of docs/motion-files.md) the arms take the authored
    bone directions; without, they are lifted from the 2D (lifting.py). With both and the `baton_tip` (T, 3),
    the hand holding the baton also turns so the baton points at the tip (wrist_flex.py). Mapped fingers take
    the baton grip on the baton hand (`baton_side`, "L"/"R"/""; the tip's side when the motion has one) and an
    open, cueing shape on the other (hands.py).
    Only bones the motion drives are returned: arms, mapped shoulders, neck and head; hips/spine/chest with
    sway > 0. Raises MotionError with a one-line message for unusable keypoints, rigs or maps."""
    config = config or LiftConfig()
    config.validate()
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if times.size == 0 or not np.all(np.isfinite(times)):
        raise MotionError("No finite key times to sample the motion at.")
    geometry = rig_geometry(rig, bone_map)
    kp = check_keypoints(keypoints)
    rel, mid = _prepared_keypoints(kp, config)
    rel, mid = sample_at(rel, times, FPS), sample_at(mid, times, FPS)
    rel3d = (
        None if keypoints3d is None else sample_at(_prepared_keypoints3d(kp, keypoints3d, config), times, FPS)
    )
    solver = PoseSolver(rig, len(times))
    _pose_torso(solver, geometry, rel, mid, config, rel3d)
    fit, wrist_weight = (1.0, 1.0) if rel3d is not None else _fit(geometry, rel)
    targets = _pose_arms(solver, geometry, fit * rel, rel3d, wrist_weight)
    if rel3d is not None and baton_tip is not None:
        baton_side = _flex_baton_wrist(
            solver, rig, bone_map, geometry, keypoints3d, baton_tip, targets, times
        )
    _pose_fingers(solver, rig, bone_map, geometry, targets, times, baton_side)
    rotations = {name: make_continuous(q).astype(np.float32) for name, q in solver.quaternions().items()}
    locations = {name: loc.astype(np.float32) for name, loc in solver.locations.items()}
    return RigAnimation(
        rotations, locations, targets.astype(np.float32), fit * geometry.shoulder_width, geometry.notes
    )


def _flex_baton_wrist(solver, rig, bone_map, geo: RigGeometry, keypoints3d, baton_tip, targets, times) -> str:
    """Turn the baton hand so its baton points at the authored tip (wrist_flex.py); returns that hand's side.
    The baton lies along the index finger (blender/rig_baton.py) when the map has one."""
    side, directions = baton_directions(check_keypoints(keypoints3d, dims=3), baton_tip)
    wrist = geo.to_body(targets[:, SIDE_ARM_JOINTS[side][1]])
    held = None
    if "index" in bone_map.fingers(side) and f"hand.{side}" in geo.bones:
        held = baton_line(rig, bone_map, side, geo.axes[:, 2])[1]
    flex_wrist(solver, geo, rig, side, wrist, normalize(sample_at(directions, times, FPS)), held)
    return side


def _pose_fingers(solver: PoseSolver, rig, bone_map, geo: RigGeometry, targets, times, baton_side) -> None:
    wrists = {side: geo.to_body(targets[:, SIDE_ARM_JOINTS[side][1]]) / geo.shoulder_width for side in SIDES}
    for name, quaternion in conducting_hands(
        rig, bone_map, baton_side, wrists, times, geo.axes[:, 2]
    ).items():
        solver.set_rotation(name, quat_to_matrix(quaternion), quaternion)


def _prepared_keypoints(kp: np.ndarray, config: LiftConfig) -> tuple[np.ndarray, np.ndarray]:
    """Frontal-plane, smoothed keypoints with the gesture size applied (still at 30 fps)."""
    rel, mid = to_frontal_plane(kp)
    return _smoothed_and_sized(rel, config), gaussian_smooth(mid, config.smoothing_sigma_frames)


def _prepared_keypoints3d(kp: np.ndarray, keypoints3d, config: LiftConfig) -> np.ndarray:
    """Authored 3D keypoints in body coordinates relative to the shoulder midpoint (keypoint shoulder widths),
    smoothed and sized as the 2D."""
    kp3d = check_keypoints(keypoints3d, dims=3, name="3D keypoints")
    if len(kp3d) != len(kp):
        raise MotionError(f"3D keypoints have {len(kp3d)} frames; the keypoints have {len(kp)}.")
    rel3d, _ = to_body_frame(kp3d, shoulder_width(kp))
    return _smoothed_and_sized(rel3d, config)


def _smoothed_and_sized(rel: np.ndarray, config: LiftConfig) -> np.ndarray:
    """Arms smoothed within the tolerance and scaled by `size` about their clip median; the rest (head,
    shoulders and hips only feed clamped, relative signals or bone origins) Gaussian-smoothed."""
    sigma = config.smoothing_sigma_frames
    arms = smooth_within(rel[:, ARM_JOINTS], sigma, config.smoothing_tolerance)
    rel = gaussian_smooth(rel, sigma)
    rel[:, ARM_JOINTS] = arms
    if config.size != 1.0:
        median = np.median(arms, axis=0)
        rel[:, ARM_JOINTS] = median + config.size * (arms - median)
    return rel


def _pose_torso(solver: PoseSolver, geo: RigGeometry, rel, mid, config: LiftConfig, rel3d=None) -> None:
    """Hips and spine (with sway), neck and head; the shoulders' shrug from the 2D (authored 3D: `_pose_arms`
    places the shoulders where the author's are)."""
    signals = body_signals(rel, mid, config.size, config.sway)
    if (
        rel3d is not None
    ):  # the authored face's turn, nod and tilt; its rise and fall over the shoulders a nod
        yaw, pitch, roll = authored_head_angles(rel3d)
        signals.head_turn, signals.head_tilt = yaw, roll
        signals.head_nod = pitch + authored_head_nod(rel3d, config.size)
    left, back, up = geo.axes.T
    bones = geo.bones
    if config.sway > 0:
        if "hips" in bones:
            shift = geo.shoulder_width * signals.hips_shift
            solver.set_location(bones["hips"], shift[:, :1] * left + shift[:, 1:] * up)
        torso = [bones[s] for s in ("spine", "chest") if s in bones]
        for name in torso:
            solver.turn(name, [(back, signals.spine_lean / len(torso))])
    head_turn = [(up, signals.head_turn), (left, -signals.head_nod), (back, -signals.head_tilt)]
    neck_lean = [(back, signals.neck_lean)]
    if "neck" in bones and "head" in bones:
        solver.turn(bones["neck"], neck_lean)
        # the tilt is the ear line's, in the world: the head takes back what the neck's lean gave it
        solver.turn(bones["head"], [*head_turn[:2], (back, -signals.head_tilt - signals.neck_lean)])
    elif "neck" in bones or "head" in bones:
        solver.turn(bones.get("neck") or bones["head"], head_turn + neck_lean)
    for side in SIDES if rel3d is None else ():
        arm = geo.arms[side]
        if arm.shoulder_bone is not None:
            resting = solver.point(arm.shoulder_bone, arm.shoulder)
            raised = resting + (geo.shoulder_width * signals.shrug[side])[:, None] * up
            solver.aim(arm.shoulder_bone, arm.shoulder, raised)


def _fit(geo: RigGeometry, rel: np.ndarray) -> tuple[float, float]:
    """`choose_fit` for this rig: the size (in its natural size) and the wrist weight for `place_arm`."""
    width, rest_mid = geo.shoulder_width, 0.5 * (geo.arms["L"].shoulder + geo.arms["R"].shoulder)
    return choose_fit(
        {side: (rel[:, elbow], rel[:, wrist]) for side, (elbow, wrist) in SIDE_ARM_JOINTS.items()},
        {side: geo.to_body(geo.arms[side].shoulder - rest_mid)[[0, 2]] / width for side in SIDES},
        {side: (geo.arms[side].upper_length / width, geo.arms[side].fore_length / width) for side in SIDES},
    )


def _pose_arms(solver: PoseSolver, geo: RigGeometry, rel, rel3d, wrist_weight: float) -> np.ndarray:
    """Aim upper arms and forearms at their targets; returns the (F, 13, 3) armature-space targets.
    Positions are the rig's shoulder midpoint + its shoulder width * the keypoints' offsets (face and hips on
    the shoulders' plane without 3D); elbows and wrists keep the rig's bone lengths."""
    scale = geo.shoulder_width
    if rel3d is None:
        reach_with_shoulders(solver, geo, rel, {side: joints[0] for side, joints in SIDE_ARM_JOINTS.items()})
    else:
        joints = {side: (SIDE_SHOULDER_JOINT[side], *SIDE_ARM_JOINTS[side]) for side in SIDES}
        follow_authored_shoulders(solver, geo, rel3d, joints)
    shoulders = {
        side: geo.to_body(solver.point(geo.arms[side].upper_arm, geo.arms[side].shoulder)) for side in SIDES
    }
    mid = 0.5 * (shoulders["L"] + shoulders["R"])
    body_targets = mid[:, None, :] + scale * (np.insert(rel, 1, 0.0, axis=-1) if rel3d is None else rel3d)
    for side in SIDES:
        arm, (elbow_index, wrist_index) = geo.arms[side], SIDE_ARM_JOINTS[side]
        shoulder = shoulders[side]
        if rel3d is None:
            plane_target = mid[:, None, [0, 2]] + scale * rel
            elbow, wrist = place_arm(
                shoulder,
                plane_target[:, elbow_index],
                plane_target[:, wrist_index],
                arm.upper_length,
                arm.fore_length,
                wrist_weight,
            )
        else:
            upper = rel3d[:, elbow_index] - rel3d[:, SIDE_SHOULDER_JOINT[side]]
            fore = rel3d[:, wrist_index] - rel3d[:, elbow_index]
            if min(np.linalg.norm(upper, axis=-1).min(), np.linalg.norm(fore, axis=-1).min()) < 1e-6:
                raise MotionError("3D keypoints put an elbow on its shoulder or a wrist on its elbow.")
            elbow = shoulder + arm.upper_length * normalize(upper)
            wrist = elbow + arm.fore_length * normalize(fore)
        body_targets[:, SIDE_SHOULDER_JOINT[side]] = shoulder
        body_targets[:, elbow_index], body_targets[:, wrist_index] = elbow, wrist
        forward = -geo.axes[:, 1]
        solver.aim(arm.upper_arm, arm.elbow, geo.to_armature(elbow), via=forward)
        solver.aim(arm.forearm, arm.wrist, geo.to_armature(wrist), via=forward)
    return geo.to_armature(body_targets)
