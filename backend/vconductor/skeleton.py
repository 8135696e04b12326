"""The 13-joint upper-body skeleton's graph. Joint names, indices and rates are defined in `contract`."""

from .contract import FPS, JOINT, JOINT_NAMES, MEL_FRAMES_PER_MOTION_FRAME, MEL_RATE, NUM_JOINTS

__all__ = ["FPS", "JOINT", "JOINT_NAMES", "MEL_FRAMES_PER_MOTION_FRAME", "MEL_RATE", "NUM_JOINTS"]
__all__ += ["DRAW_EDGES", "GRAPH_EDGES"]

# The ST-GCN graph of the official motion encoder: face, a "fake neck" nose->shoulders, arms and torso.
FACE_EDGES = ((0, 1), (0, 2), (1, 3), (2, 4))
NECK_EDGES = ((0, 5), (0, 6))  # nose -> shoulders: the official graph has no neck joint
ARM_EDGES = ((5, 6), (5, 7), (7, 9), (6, 8), (8, 10))
TORSO_EDGES = ((11, 12), (5, 11), (6, 12))
GRAPH_EDGES = FACE_EDGES + NECK_EDGES + ARM_EDGES + TORSO_EDGES

# What a person draws: the graph without the nose->shoulder edges.
DRAW_EDGES = tuple(edge for edge in GRAPH_EDGES if edge not in NECK_EDGES)
