"""Metric landmarks: exact on an ideal pinhole projection of the canonical face, any pose."""

import numpy as np
import pytest

from talkmesh_jax.data_tools.metric import metric_landmarks, similarity_fit
from talkmesh_jax.facemesh import canonical_face


def _rotation(rotvec: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(rotvec)
    if angle == 0:
        return np.eye(3)
    k = rotvec / angle
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def project(face: np.ndarray, rotvec, translation, width=640, height=480) -> np.ndarray:
    """Screen landmarks as MediaPipe reports them for a pinhole camera with focal = width."""
    camera = face @ _rotation(np.asarray(rotvec, float)).T + translation  # y up, z toward viewer
    depth = -camera[:, 2]
    x = camera[:, 0] / depth + 0.5
    y = 0.5 - width * camera[:, 1] / depth / height
    centre = depth[:468].mean()
    z = (depth - centre) / centre  # relative depth in units of the frame width
    return np.stack([x, y, z], -1)


def test_similarity_fit_recovers_a_known_transform(rng):
    source = rng.normal(size=(50, 3))
    rotation = _rotation(rng.normal(size=3))
    target = 2.5 * source @ rotation.T + [1.0, -2.0, 3.0]
    scale, fitted, translation = similarity_fit(source, target[None], rng.uniform(0.1, 1, 50))
    np.testing.assert_allclose(scale, [2.5], rtol=1e-10)
    np.testing.assert_allclose(fitted[0], rotation, atol=1e-10)
    np.testing.assert_allclose(translation[0], [1.0, -2.0, 3.0], atol=1e-10)


def test_similarity_fit_never_returns_a_reflection(rng):
    source = rng.normal(size=(30, 3))
    target = source * [1, 1, -1]  # a mirror image: the best proper rotation is not the mirror
    _, rotation, _ = similarity_fit(source, target[None], np.ones(30))
    assert np.linalg.det(rotation[0]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "rotvec, translation",
    [([0, 0, 0], [0, 0, -60]), ([0.3, -0.4, 0.2], [5, -3, -45]), ([-0.2, 0.5, -0.3], [-8, 4, -90])],
)
def test_pose_position_and_distance_are_removed(rotvec, translation):
    """Head rotation up to 30°, off-centre positions and 45–90 cm distance give back the face in
    canonical centimetres (float32 rounding only)."""
    face = canonical_face()["vertices"].astype(np.float64)
    screen = project(face, rotvec, translation)
    metric = metric_landmarks(screen[None], 640, 480)[0]
    np.testing.assert_allclose(metric, face, atol=1e-4)


def test_all_points_follow_the_fit_and_shapes_are_checked():
    face = canonical_face()["vertices"].astype(np.float64)
    extra = np.concatenate([face, face[:10] + [0, 0, 0.5]])  # 478 points, like refined landmarks
    screen = project(extra, [0.1, 0.2, 0], [0, 0, -50])
    metric = metric_landmarks(screen[None], 640, 480)[0]
    np.testing.assert_allclose(metric[468:], extra[468:], atol=1e-4)
    with pytest.raises(ValueError, match="≥468"):
        metric_landmarks(np.zeros((2, 100, 3)), 640, 480)
    assert metric_landmarks(np.zeros((0, 478, 3)), 640, 480).shape == (0, 478, 3)
