"""Motion core of the add-on: keypoints (T,13,2) at 30 fps -> per-bone pose rotations for any armature.

Pure numpy + stdlib (Blender ships numpy, not scipy), no bpy: importable and tested without Blender.
Flow (pipeline.animate_rig): keypoints.py (validate, repair, normalise) -> smoothing.py (zero phase, bounded)
-> retime.py (scene frames <-> audio time) -> body_signals.py (head, shoulders, torso angles) and the arms:
authored 3D bone directions when the motion has them, else lifting.py (2D -> 3D elbows and wrists at the rig's
natural size; docs/architecture.md, "Lifting motion onto a rig") -> posing.py (numpy forward kinematics with Blender's
pose maths; aim bones at targets). rig.py / rig_geometry.py describe the armature, bone_map.py what its bones
mean (presets in ../presets/*.json), rotations.py the quaternion and Euler maths.
"""

from .bone_map import REQUIRED_BONES, SEMANTIC_BONES, BoneMap, detect_bone_map, load_preset, preset_names
from .errors import MotionError
from .lifting import LiftConfig
from .pipeline import RigAnimation, animate_rig, key_frames
from .rig import RestBone, RigRest, bone_matrix, rest_bone
from .rotations import quaternions_to_euler

__all__ = [
    "REQUIRED_BONES",
    "SEMANTIC_BONES",
    "BoneMap",
    "LiftConfig",
    "MotionError",
    "RestBone",
    "RigAnimation",
    "RigRest",
    "animate_rig",
    "bone_matrix",
    "detect_bone_map",
    "key_frames",
    "load_preset",
    "preset_names",
    "quaternions_to_euler",
    "rest_bone",
]
