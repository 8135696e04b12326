"""What a conductor hands to the pipeline: the 2D keypoints and, when it authors them, 3D joints and the baton
tip in the body frame (docs/motion-files.md). Also the one mirror operation (a left-handed conductor)."""

from dataclasses import dataclass, replace

import numpy as np

from .contract import ARM_JOINTS, JOINT_NAMES
from .contract_style import ConductingStyle

# Each joint's index after swapping the sides: left_* <-> right_*.
_SWAPPED = tuple(
    JOINT_NAMES.index(name.replace("left_", "right_") if "left_" in name else name.replace("right_", "left_"))
    for name in JOINT_NAMES
)
MIDLINE_X = 0.5  # the keypoints' body midline (hip and shoulder centres)


@dataclass
class Conducted:
    keypoints: np.ndarray  # (T, 13, 2)
    keypoints3d: np.ndarray | None = None  # (T, 13, 3)
    baton_tip: np.ndarray | None = None  # (T, 3)

    def mirrored(self) -> "Conducted":
        """The same performance by a conductor of the other hand: mirrored about the midline, sides swapped."""
        return replace(
            self,
            keypoints=_mirror(self.keypoints),
            keypoints3d=None if self.keypoints3d is None else _mirror(self.keypoints3d),
            baton_tip=None if self.baton_tip is None else _mirror_points(self.baton_tip),
        )

    def without_baton(self) -> "Conducted":
        return replace(self, baton_tip=None)

    def scaled(self, size: float) -> "Conducted":
        """Elbows and wrists moved `size` times as far from their median positions (2D only: for motion
        without authored 3D, whose size is the conductor's own business)."""
        keypoints = np.array(self.keypoints, copy=True)
        arms = keypoints[:, list(ARM_JOINTS)]
        median = np.median(arms, axis=0)
        keypoints[:, list(ARM_JOINTS)] = median + size * (arms - median)
        return replace(self, keypoints=keypoints)


def styled_learned(conducted: Conducted, style: ConductingStyle) -> Conducted:
    """What a learned model's 2D motion can take of a style: the size and the conducting hand."""
    if style.size != 1.0:
        conducted = conducted.scaled(style.size)
    return conducted.mirrored() if style.left_handed else conducted


def _mirror(joints: np.ndarray) -> np.ndarray:
    return _mirror_points(np.asarray(joints)[:, list(_SWAPPED)])


def _mirror_points(points: np.ndarray) -> np.ndarray:
    out = np.array(points, copy=True)
    out[..., 0] = 2 * MIDLINE_X - out[..., 0]
    return out
