"""The one exception type of the motion core: its message is shown to the user as is (one line)."""


class MotionError(ValueError):
    """Keypoints, rig or bone map that cannot be animated; str(error) is a one-line user message."""
