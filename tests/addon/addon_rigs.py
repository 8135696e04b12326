"""Test rigs built without Blender (bone_matrix reproduces Bone.matrix_local), synthetic conducting motion,
and an independent forward kinematics written straight from Blender's documented pose formula."""

from __future__ import annotations

import numpy as np
from virtual_conductor_addon.motion.rig import RigRest, rest_bone
from virtual_conductor_addon.motion.rotations import quat_to_matrix


def humanoid(
    names: dict[str, str],
    *,
    arm_angle_deg: float = 0.0,  # 0 = T-pose, 45 = A-pose (arms below horizontal)
    shoulder_half: float = 0.18,
    upper: float = 0.29,
    fore: float = 0.26,
    rolls: dict[str, float] | None = None,
    extra_spine: bool = False,  # Mixamo-like unmapped Spine1 / Spine2 between spine and chest
    elbow_bend_deg: float = 0.0,  # rest-pose elbow bend (forward), as some imported rigs have
    prefix: str = "",
    split_arms: bool = False,  # Rigify DEF-style: upper arm and forearm in two bones each (".001" halves)
) -> RigRest:
    """A humanoid with the given semantic -> bone names; unmapped extras: legs, fingers, a prop bone."""
    rolls = rolls or {}
    bones = []

    def add(semantic, parent, head, tail):
        name = prefix + names.get(semantic, semantic)
        parent_name = None if parent is None else prefix + names.get(parent, parent)
        bones.append(rest_bone(name, parent_name, head, tail, np.radians(rolls.get(semantic, 0.0))))

    _add_torso(add, extra_spine)
    a = np.radians(arm_angle_deg)
    for side, sign in (("L", 1.0), ("R", -1.0)):
        direction = np.array([sign * np.cos(a), 0.0, -np.sin(a)])
        start = np.array([sign * 0.03, 0.0, 1.41])
        shoulder = np.array([sign * shoulder_half, 0.0, 1.42])
        add(f"shoulder.{side}", "chest", start, shoulder)
        if extra_spine:  # an unmapped bone between clavicle and upper arm (some exports have one)
            add(f"shoulder_extra.{side}", f"shoulder.{side}", shoulder, shoulder + 0.02 * direction)
            arm_parent, arm_head = f"shoulder_extra.{side}", shoulder + 0.02 * direction
        else:
            arm_parent, arm_head = f"shoulder.{side}", shoulder
        elbow = arm_head + upper * direction
        bend = np.radians(elbow_bend_deg)
        fore_dir = np.cos(bend) * direction + np.sin(bend) * np.array([0.0, -1.0, 0.0])
        wrist = elbow + fore * fore_dir
        if split_arms:
            half_elbow, half_wrist = 0.5 * (arm_head + elbow), 0.5 * (elbow + wrist)
            add(f"upper_arm.{side}", arm_parent, arm_head, half_elbow)
            add(f"upper_arm_half.{side}", f"upper_arm.{side}", half_elbow, elbow)
            add(f"forearm.{side}", f"upper_arm_half.{side}", elbow, half_wrist)
            add(f"forearm_half.{side}", f"forearm.{side}", half_wrist, wrist)
            add(f"hand.{side}", f"forearm_half.{side}", wrist, wrist + 0.08 * fore_dir)
        else:
            add(f"upper_arm.{side}", arm_parent, arm_head, elbow)
            add(f"forearm.{side}", f"upper_arm.{side}", elbow, wrist)
            add(f"hand.{side}", f"forearm.{side}", wrist, wrist + 0.08 * fore_dir)
        add(f"finger.{side}", f"hand.{side}", wrist + 0.08 * fore_dir, wrist + 0.12 * fore_dir)
    hand_r = next(b for b in bones if b.name == prefix + names.get("hand.R", "hand.R"))
    add("baton", "hand.R", hand_r.tail, hand_r.tail + np.array([0.0, -0.4, 0.0]))
    return RigRest({b.name: b for b in bones})


def _add_torso(add, extra_spine: bool) -> None:
    """Hips to head, and the legs; `add(semantic, parent, head, tail)` adds a bone."""
    add("hips", None, (0, 0, 0.95), (0, 0, 1.06))
    add("spine", "hips", (0, 0, 1.06), (0, 0.01, 1.2))
    chest_parent = "spine"
    if extra_spine:
        add("spine_extra1", "spine", (0, 0.01, 1.2), (0, 0.01, 1.27))
        add("spine_extra2", "spine_extra1", (0, 0.01, 1.27), (0, 0.0, 1.32))
        chest_parent = "spine_extra2"
    add("chest", chest_parent, (0, 0.0, 1.32), (0, 0, 1.43))
    add("neck", "chest", (0, 0, 1.43), (0, -0.01, 1.54))
    add("head", "neck", (0, -0.01, 1.54), (0, -0.01, 1.75))
    add("leg.L", "hips", (0.1, 0, 0.93), (0.1, 0, 0.5))
    add("leg.R", "hips", (-0.1, 0, 0.93), (-0.1, 0, 0.5))


DEFAULT_NAMES: dict[str, str] = {}  # semantic names are the default rig's names
MIXAMO_NAMES = {
    "hips": "Hips",
    "spine": "Spine",
    "spine_extra1": "Spine1",
    "spine_extra2": "SpineTwist",
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
            ("shoulder_extra", "ShoulderExtra"),
        )
    },
}
RIGIFY_DEF_NAMES = {
    "hips": "DEF-spine",
    "spine": "DEF-spine.001",
    "chest": "DEF-spine.003",
    "neck": "DEF-spine.004",
    "head": "DEF-spine.006",
    "leg.L": "DEF-thigh.L",
    "leg.R": "DEF-thigh.R",
    **{f"{k}.{s}": f"DEF-{k}.{s}" for s in "LR" for k in ("shoulder", "upper_arm", "forearm", "hand")},
    **{f"finger.{s}": f"DEF-f_index.01.{s}" for s in "LR"},
    **{f"upper_arm_half.{s}": f"DEF-upper_arm.{s}.001" for s in "LR"},
    **{f"forearm_half.{s}": f"DEF-forearm.{s}.001" for s in "LR"},
}


def conducting_keypoints(
    seconds: float = 8.0, fps: float = 30.0, seed: int = 0, jitter: float = 0.0, arm_scale: float = 0.55
) -> np.ndarray:
    """(T, 13, 2) image-space keypoints (y down, shoulder width ~0.2) of a 4/4 beat pattern with a mirrored,
    smaller left hand, head nods and turns, shoulder shrugs and hips drift. Elbows and wrists are `arm_scale`
    times a pattern whose arms reach nearly straight on a rig with arms as long as its shoulders are wide:
    0.55 keeps every frame within reach of every test rig at natural size; 1 takes arms past the reach of
    most (the saturation is exercised)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fps)) / fps
    beat = 2 * np.pi * t / 0.6
    bar = beat / 4
    center = np.stack([0.5 + 0.01 * np.sin(0.3 * t), 0.45 + 0.005 * np.sin(0.7 * t)], -1)
    kp = np.zeros((len(t), 13, 2))
    tilt = 0.02 * np.sin(0.5 * t)
    kp[:, 5] = center + np.stack([0.1 + 0.0 * t, -tilt + 0.01 * np.sin(beat)], -1)  # left shoulder (larger x)
    kp[:, 6] = center + np.stack([-0.1 + 0.0 * t, tilt], -1)
    wrist_r = np.stack(
        [
            -0.16 + 0.09 * np.sin(bar) + 0.03 * np.sin(beat),
            0.12 - 0.08 * np.abs(np.cos(beat / 2)) - 0.04 * np.cos(bar),
        ],
        -1,
    )
    wrist_l = np.stack([0.15 - 0.05 * np.sin(bar), 0.14 - 0.04 * np.abs(np.cos(beat / 2))], -1)
    kp[:, 10] = kp[:, 6] + arm_scale * wrist_r
    kp[:, 9] = kp[:, 5] + arm_scale * wrist_l
    kp[:, 8] = kp[:, 6] + arm_scale * np.stack([-0.12 + 0.03 * np.sin(bar), 0.11 + 0.02 * np.cos(beat)], -1)
    kp[:, 7] = kp[:, 5] + arm_scale * np.stack([0.11 - 0.02 * np.sin(bar), 0.12 + 0.01 * np.cos(beat)], -1)
    head = center + np.stack([0.01 * np.sin(0.4 * t), -0.1 + 0.005 * np.sin(beat)], -1)
    turn = 0.015 * np.sin(0.35 * t)
    kp[:, 0] = head + np.stack([turn, 0.01 + 0.005 * np.sin(beat)], -1)
    kp[:, 1] = head + np.stack([0.018 + turn, -0.005 + 0 * t], -1)
    kp[:, 2] = head + np.stack([-0.018 + turn, -0.005 + 0 * t], -1)
    kp[:, 3] = head + np.stack([0.04 + 0 * t, 0.0 * t], -1)
    kp[:, 4] = head + np.stack([-0.04 + 0 * t, 0.0 * t], -1)
    kp[:, 11] = center + np.stack([0.06 + 0.005 * np.sin(0.2 * t), 0.3 + 0 * t], -1)
    kp[:, 12] = center + np.stack([-0.06 + 0.005 * np.sin(0.2 * t), 0.3 + 0 * t], -1)
    return kp + jitter * rng.normal(size=kp.shape)


def forward_kinematics(
    rig: RigRest, rotations: dict[str, np.ndarray], locations: dict[str, np.ndarray] | None = None
):
    """Posed 4x4 armature matrices per bone and frame, from Blender's formula, one bone at a time:
    posed(b) = posed(parent) @ inv(parent.matrix_local) @ b.matrix_local @ T(location) @ R(q)."""
    locations = locations or {}
    frames = len(next(iter(rotations.values())))
    posed: dict[str, np.ndarray] = {}

    def solve(name):
        if name in posed:
            return posed[name]
        bone = rig.bones[name]
        basis = np.tile(np.eye(4), (frames, 1, 1))
        if name in rotations:
            basis[:, :3, :3] = quat_to_matrix(np.asarray(rotations[name], dtype=np.float64))
        if name in locations:
            basis[:, :3, 3] = locations[name]
        local = (
            bone.matrix if bone.parent is None else np.linalg.inv(rig.bones[bone.parent].matrix) @ bone.matrix
        )
        parent = np.eye(4) if bone.parent is None else solve(bone.parent)
        posed[name] = parent @ local @ basis
        return posed[name]

    for name in rig.bones:
        solve(name)
    return posed


def follow_error(keypoints: np.ndarray, times: np.ndarray, rig_points: dict[str, np.ndarray]) -> np.ndarray:
    """The independent follow check of issue 7, per frame: keypoints (linearly interpolated at `times`)
    relative to their shoulder midpoint / median shoulder width, y flipped; the rig's projected (X, Z) joints
    relative to its projected shoulder midpoint; one least-squares scale for the clip. Returns the per-frame
    RMS residual over elbows and wrists in units of the rig's shoulder width."""
    kp = _at_times(keypoints, times)
    width = np.median(np.linalg.norm(keypoints[:, 5] - keypoints[:, 6], axis=-1))
    kp_rel = (kp - 0.5 * (kp[:, 5:6] + kp[:, 6:7])) / width * np.array([1.0, -1.0])
    xz = {k: v[:, [0, 2]] for k, v in rig_points.items()}
    rig_mid = 0.5 * (xz["shoulder.L"] + xz["shoulder.R"])
    rig_width = np.median(np.linalg.norm(xz["shoulder.L"] - xz["shoulder.R"], axis=-1))
    joints = {"elbow.L": 7, "elbow.R": 8, "wrist.L": 9, "wrist.R": 10}
    a = np.stack([kp_rel[:, j] for j in joints.values()], 1)
    b = np.stack([xz[k] - rig_mid for k in joints], 1)
    scale = np.sum(a * b) / np.sum(a * a)
    return np.sqrt(np.mean(np.sum((b - scale * a) ** 2, axis=-1), axis=1)) / rig_width


def wrist_amplitude_ratio(
    keypoints: np.ndarray, times: np.ndarray, rig_points: dict[str, np.ndarray]
) -> float:
    """The rig's right-wrist amplitude over the keypoints', both in shoulder widths on the frontal plane:
    amplitude = mean distance of the wrist (relative to the shoulder midpoint) from its mean."""
    kp = _at_times(keypoints, times)
    width = np.median(np.linalg.norm(keypoints[:, 5] - keypoints[:, 6], axis=-1))
    kp_wrist = kp[:, 10] - 0.5 * (kp[:, 5] + kp[:, 6])
    xz = {k: v[:, [0, 2]] for k, v in rig_points.items()}
    rig_width = np.median(np.linalg.norm(xz["shoulder.L"] - xz["shoulder.R"], axis=-1))
    rig_wrist = xz["wrist.R"] - 0.5 * (xz["shoulder.L"] + xz["shoulder.R"])

    def amplitude(track, unit):
        return np.mean(np.linalg.norm(track - track.mean(axis=0), axis=-1)) / unit

    return float(amplitude(rig_wrist, rig_width) / amplitude(kp_wrist, width))


def direction_steps(rig_points: dict[str, np.ndarray]) -> np.ndarray:
    """Per key, the largest angle (degrees) any upper arm or forearm turns since the previous key."""
    steps = []
    for side in "LR":
        for start, end in (("shoulder", "elbow"), ("elbow", "wrist")):
            v = rig_points[f"{end}.{side}"] - rig_points[f"{start}.{side}"]
            v = v / np.linalg.norm(v, axis=-1, keepdims=True)
            steps.append(np.degrees(np.arccos(np.clip(np.sum(v[1:] * v[:-1], axis=-1), -1.0, 1.0))))
    return np.max(steps, axis=0)


def _at_times(keypoints: np.ndarray, times: np.ndarray) -> np.ndarray:
    position = np.clip(times * 30.0, 0, len(keypoints) - 1)
    lo = np.floor(position).astype(int)
    hi = np.minimum(lo + 1, len(keypoints) - 1)
    w = (position - lo)[:, None, None]
    return keypoints[lo] * (1 - w) + keypoints[hi] * w


def rig_cases() -> dict[str, RigRest]:
    """T- and A-poses, rolls 0 / 90 / -135 degrees, long and short arms, wide shoulders, Mixamo-like hierarchy
    with unmapped intermediate bones and prefixes, Rigify deform naming with split arm bones."""
    rolls = {
        "upper_arm.L": 90.0,
        "forearm.L": -135.0,
        "upper_arm.R": -135.0,
        "forearm.R": 90.0,
        "shoulder.L": 90.0,
        "hand.R": -135.0,
    }
    return {
        "conductor_T": humanoid(DEFAULT_NAMES),
        "conductor_A_rolled": humanoid(DEFAULT_NAMES, arm_angle_deg=45, rolls=rolls),
        "mixamo_A_long_arms": humanoid(
            MIXAMO_NAMES,
            arm_angle_deg=40,
            upper=0.34,
            fore=0.3,
            extra_spine=True,
            elbow_bend_deg=10,
            rolls=rolls,
            prefix="mixamorig:",
        ),
        "mixamo1_short_arms": humanoid(
            MIXAMO_NAMES,
            arm_angle_deg=30,
            shoulder_half=0.16,
            upper=0.22,
            fore=0.2,
            extra_spine=True,
            rolls={k: -v for k, v in rolls.items()},
            prefix="mixamorig1:",
        ),
        "rigify_def_wide": humanoid(
            RIGIFY_DEF_NAMES, shoulder_half=0.23, upper=0.28, split_arms=True, arm_angle_deg=20, rolls=rolls
        ),
    }
