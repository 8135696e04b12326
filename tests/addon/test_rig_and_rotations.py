"""Rest matrices like Blender's and the quaternion/Euler maths, without bpy."""

import numpy as np
import pytest
from virtual_conductor_addon.motion import MotionError, quaternions_to_euler
from virtual_conductor_addon.motion.rig import RigRest, bone_matrix, rest_bone
from virtual_conductor_addon.motion.rotations import (
    EULER_ORDERS,
    euler_to_matrix,
    make_continuous,
    matrix_to_quat,
    quat_to_matrix,
    swing_quaternion,
)


@pytest.mark.parametrize("roll_deg", [0.0, 90.0, -135.0, 17.0])
@pytest.mark.parametrize(
    "direction", [(1, 0, 0), (0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0), (1e-5, -1, 0), (0.3, -0.4, 0.8)]
)
def test_bone_matrix_is_a_rotation_whose_y_axis_is_the_bone(direction, roll_deg):
    head = np.array([0.1, -0.2, 1.0])
    tail = head + 0.3 * np.asarray(direction) / np.linalg.norm(direction)
    m = bone_matrix(head, tail, np.radians(roll_deg))
    r = m[:3, :3]
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(r), 1.0)
    assert np.allclose(r[:, 1], (tail - head) / 0.3, atol=1e-4)  # Blender snaps within 2.5e-4 of -Y
    assert np.allclose(m[:3, 3], head)
    # Roll turns the X axis about the bone by exactly the roll angle.
    x0 = bone_matrix(head, tail, 0.0)[:3, 0]
    angle = np.arctan2(np.dot(np.cross(x0, r[:, 0]), r[:, 1]), np.dot(x0, r[:, 0]))
    assert np.isclose(angle, np.radians(roll_deg), atol=1e-6)


def test_bone_matrix_known_blender_values():
    # Values as Blender reports them: an up bone keeps X = +X; a bone along +X has Y = +X and X = -Y;
    # a bone straight down -Y is a half turn about Z.
    assert np.allclose(bone_matrix((0, 0, 0), (0, 0, 1), 0.0)[:3, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    assert np.allclose(bone_matrix((0, 0, 0), (1, 0, 0), 0.0)[:3, :3], [[0, 1, 0], [-1, 0, 0], [0, 0, 1]])
    assert np.allclose(bone_matrix((0, 0, 0), (0, -1, 0), 0.0)[:3, :3], np.diag([-1, -1, 1]))
    with pytest.raises(MotionError, match="zero length"):
        bone_matrix((0, 0, 0), (0, 0, 0), 0.0)


def test_rig_rest_rejects_broken_hierarchies():
    a = rest_bone("a", None, (0, 0, 0), (0, 0, 1))
    with pytest.raises(MotionError, match="parent 'x'"):
        RigRest({"a": a, "b": rest_bone("b", "x", (0, 0, 1), (0, 0, 2))})
    with pytest.raises(MotionError, match="own ancestor"):
        RigRest(
            {"a": rest_bone("a", "b", (0, 0, 0), (0, 0, 1)), "b": rest_bone("b", "a", (0, 0, 1), (0, 0, 2))}
        )


def test_quaternion_matrix_round_trip_and_swing():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(500, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    back = matrix_to_quat(quat_to_matrix(q))
    assert np.allclose(np.abs(np.sum(back * q, axis=1)), 1.0, atol=1e-9)
    a, b = rng.normal(size=(2, 500, 3))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    rotated = np.einsum("fij,fj->fi", quat_to_matrix(swing_quaternion(a, b)), a)
    assert np.allclose(rotated, b, atol=1e-9)


def test_make_continuous_removes_sign_flips():
    angles = np.linspace(0, 6 * np.pi, 400)
    q = np.stack([np.cos(angles / 2), np.sin(angles / 2), 0 * angles, 0 * angles], 1)
    q[::3] *= -1
    fixed = make_continuous(q)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], axis=1) > 0)
    assert np.allclose(quat_to_matrix(fixed), quat_to_matrix(q))


@pytest.mark.parametrize("order", EULER_ORDERS)
def test_quaternions_to_euler_round_trip_and_continuity(order):
    rng = np.random.default_rng(2)
    t = np.linspace(0, 1, 600)
    # A path through gimbal lock (middle angle +-90 deg) and past +-180 deg on the outer angles.
    euler = np.stack([4 * np.pi * t, np.pi / 2 * np.sin(2 * np.pi * t) * 1.05, -3 * np.pi * t], 1)
    euler += 0.01 * rng.normal(size=euler.shape)
    m = euler_to_matrix(euler, order)
    q = matrix_to_quat(m)
    out = quaternions_to_euler(q, order)
    assert np.allclose(euler_to_matrix(out, order), m, atol=1e-6)
    assert np.max(np.abs(np.diff(out, axis=0))) < 0.5  # no 2*pi wraps, no branch jumps


def test_quaternions_to_euler_rejects_unknown_order():
    with pytest.raises(MotionError, match="Euler order"):
        quaternions_to_euler(np.array([[1.0, 0, 0, 0]]), "XXY")
