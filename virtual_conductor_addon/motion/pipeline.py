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
from .body_signals import body_signals
from .bone_map import BoneMap
from .errors import MotionError
from .keypoints import check_keypoints, to_frontal_plane
from .lifting import LiftConfig, choose_scale, place_in_front
from .posing import PoseSolver
from .retime import key_frames, sample_at
from .rig import RigRest
from .rig_geometry import SIDES, RigGeometry, rig_geometry
from .rotations import make_continuous
from .smoothing import gaussian_smooth, smooth_within

__all__ = ["MotionError", "RigAnimation", "animate_rig", "key_frames"]

SIDE_ARM_JOINTS = {"L": (LEFT_ELBOW, LEFT_WRIST), "R": (RIGHT_ELBOW, RIGHT_WRIST)}
SIDE_SHOULDER_JOINT = {"L": LEFT_SHOULDER, "R": RIGHT_SHOULDER}


@dataclass
class RigAnimation:
    rotations: dict[str, np.ndarray]  # rig bone -> (F, 4) float32 w, x, y, z: pose_bone.rotation_quaternion
    locations: dict[str, np.ndarray]  # rig bone -> (F, 3) pose_bone.location (the hips bone, only with sway)
    targets: np.ndarray  # (F, 13, 3) armature-space joint targets (diagnostics)
    scale: float = 0.0  # rig units per keypoint shoulder width actually used
    notes: list[str] = field(default_factory=list)  # mapping problems that were worked around


def animate_rig(
    keypoints, times_s, rig: RigRest, bone_map: BoneMap, config: LiftConfig | None = None
) -> RigAnimation:
    """Pose rotations (local, relative to each bone's own rest pose) that make the rig's elbows and wrists
    follow the keypoints (T, 13, 2) at 30 fps, sampled at `times_s` (audio seconds, see key_frames).
    Only bones the motion drives are returned: arms, mapped shoulders, neck and head; hips/spine/chest with
    sway > 0. Raises MotionError with a one-line message for unusable keypoints, rigs or maps."""
    config = config or LiftConfig()
    config.validate()
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if times.size == 0 or not np.all(np.isfinite(times)):
        raise MotionError("No finite key times to sample the motion at.")
    geometry = rig_geometry(rig, bone_map)
    rel, mid = _prepared_keypoints(keypoints, config)
    rel, mid = sample_at(rel, times, FPS), sample_at(mid, times, FPS)
    solver = PoseSolver(rig, len(times))
    _pose_torso(solver, geometry, rel, mid, config)
    targets, scale = _pose_arms(solver, geometry, rel, config)
    rotations = {name: make_continuous(q).astype(np.float32) for name, q in solver.quaternions().items()}
    locations = {name: loc.astype(np.float32) for name, loc in solver.locations.items()}
    return RigAnimation(rotations, locations, targets.astype(np.float32), scale, geometry.notes)


def _prepared_keypoints(keypoints, config: LiftConfig) -> tuple[np.ndarray, np.ndarray]:
    """Valid, frontal-plane, smoothed keypoints with the gesture size applied (still at 30 fps)."""
    rel, mid = to_frontal_plane(check_keypoints(keypoints))
    sigma = config.smoothing_sigma_frames
    arms = smooth_within(rel[:, ARM_JOINTS], sigma, config.smoothing_tolerance)
    rel = gaussian_smooth(rel, sigma)  # head, shoulders and hips only feed clamped, relative signals
    rel[:, ARM_JOINTS] = arms
    if config.size != 1.0:
        median = np.median(arms, axis=0)
        rel[:, ARM_JOINTS] = median + config.size * (arms - median)
    return rel, gaussian_smooth(mid, sigma)


def _pose_torso(solver: PoseSolver, geo: RigGeometry, rel, mid, config: LiftConfig) -> None:
    signals = body_signals(rel, mid, config.size, config.sway)
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
        solver.turn(bones["head"], head_turn)
    elif "neck" in bones or "head" in bones:
        solver.turn(bones.get("neck") or bones["head"], head_turn + neck_lean)
    for side in SIDES:
        arm = geo.arms[side]
        if arm.shoulder_bone is not None:
            resting = solver.point(arm.shoulder_bone, arm.shoulder)
            raised = resting + (geo.shoulder_width * signals.shrug[side])[:, None] * up
            solver.aim(arm.shoulder_bone, arm.shoulder, raised)


def _pose_arms(solver: PoseSolver, geo: RigGeometry, rel, config: LiftConfig) -> tuple[np.ndarray, float]:
    """Aim upper arms and forearms at their targets; returns the (F, 13, 3) armature-space targets and scale."""
    shoulders = {
        side: geo.to_body(solver.point(geo.arms[side].upper_arm, geo.arms[side].shoulder)) for side in SIDES
    }
    mid = 0.5 * (shoulders["L"] + shoulders["R"])
    plane = [0, 2]  # (left, up) columns of body coordinates
    scale = choose_scale(
        geo.shoulder_width,
        {s: shoulders[s][:, plane] - mid[:, plane] for s in SIDES},
        {s: rel[:, SIDE_ARM_JOINTS[s][0]] for s in SIDES},
        {s: rel[:, SIDE_ARM_JOINTS[s][1]] for s in SIDES},
        {s: geo.arms[s].upper_length for s in SIDES},
        {s: geo.arms[s].fore_length for s in SIDES},
        config.unreached,
    )
    body_targets = mid[:, None, :] + np.insert(
        scale * rel, 1, 0.0, axis=-1
    )  # face and hips on the shoulders' plane
    for side in SIDES:
        arm, (elbow_index, wrist_index) = geo.arms[side], SIDE_ARM_JOINTS[side]
        shoulder = shoulders[side]
        elbow_plane, elbow_depth = place_in_front(
            shoulder[:, plane], shoulder[:, 1], mid[:, plane] + scale * rel[:, elbow_index], arm.upper_length
        )
        wrist_plane, wrist_depth = place_in_front(
            elbow_plane, elbow_depth, mid[:, plane] + scale * rel[:, wrist_index], arm.fore_length
        )
        body_targets[:, SIDE_SHOULDER_JOINT[side]] = shoulder
        for index, flat, depth in (
            (elbow_index, elbow_plane, elbow_depth),
            (wrist_index, wrist_plane, wrist_depth),
        ):
            body_targets[:, index] = np.stack([flat[:, 0], depth, flat[:, 1]], axis=-1)
        solver.aim(arm.upper_arm, arm.elbow, geo.to_armature(body_targets[:, elbow_index]))
        solver.aim(arm.forearm, arm.wrist, geo.to_armature(body_targets[:, wrist_index]))
    return geo.to_armature(body_targets), scale
