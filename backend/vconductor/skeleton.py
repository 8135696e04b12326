"""The 13-joint upper-body skeleton (first 13 COCO keypoints) shared by every part of the product.

Coordinates follow the official convention: (x, y) image coordinates with y pointing down, normalised so the
mean shoulder width is about 0.2 and the time-mean hip centre sits at (0.5, 0.75). The conductor faces the
camera, so left-side joints have the larger x.
"""

FPS = 30
MEL_RATE = 90  # mel frames per second fed to the networks
MEL_FRAMES_PER_MOTION_FRAME = MEL_RATE // FPS

JOINT_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT = {name: i for i, name in enumerate(JOINT_NAMES)}

# The ST-GCN graph of the official motion encoder: face, a "fake neck" nose->shoulders, arms and torso.
GRAPH_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (0, 6), (5, 6),
    (5, 7), (7, 9), (6, 8), (8, 10), (11, 12), (5, 11), (6, 12),
)  # fmt: skip

# What a person draws: the graph without the nose->shoulder edges.
DRAW_EDGES = tuple(e for e in GRAPH_EDGES if e not in ((0, 5), (0, 6)))
