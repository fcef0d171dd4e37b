"""Evaluation metrics on hand-computable inputs."""

import numpy as np
import pytest

from talkmesh_jax.metrics import (
    all_metrics,
    blendshape_metrics,
    correlation,
    lip_vertex_error,
    mean_vertex_error,
    mse,
    upper_face_dynamics_deviation,
    velocity_mse,
)


def test_lve_is_the_mean_over_frames_of_the_worst_lip_error():
    true = np.zeros((3, 5, 3))
    pred = np.zeros((3, 5, 3))
    pred[0, 1, 0] = 3.0  # frame 0: lip 1 off by 3 (worst), lip 2 off by 1
    pred[0, 2, 1] = 1.0
    pred[1, 4, 2] = 9.0  # not a lip landmark
    pred[2, 2] = [0, 3, 4]  # frame 2: 5, but the frame is invalid
    valid = np.array([True, True, False])
    lve, lve_squared = lip_vertex_error(pred, true, valid, [1, 2])
    assert lve == pytest.approx(1.5) and lve_squared == pytest.approx(4.5)
    assert mean_vertex_error(pred, true, valid) == pytest.approx((3 + 1 + 9) / 10)


def test_fdd_and_velocity():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(30, 6, 3))
    template = np.zeros((6, 3))
    assert upper_face_dynamics_deviation(true, true, np.ones(30, bool), [0, 1], template) == 0
    still = np.broadcast_to(true.mean(0), true.shape)
    fdd = upper_face_dynamics_deviation(still, true, np.ones(30, bool), [0, 1], template)
    assert fdd > 0  # a static prediction has less motion than the truth
    # its value: the truth's own dynamics (a static face has none), computed independently
    squared = (true[:, :2] ** 2).sum(-1)  # [30, 2], distance² to the zero template
    expected = np.mean([np.std(squared[:, 0]), np.std(squared[:, 1])])
    expected -= np.mean(np.std(((still[:, :2]) ** 2).sum(-1), axis=0))  # 0 up to rounding
    assert fdd == pytest.approx(expected, rel=1e-9)
    valid = np.ones(30, bool)
    valid[10] = False
    shifted = true + 1.0  # constant offset: velocities identical
    assert velocity_mse(shifted, true, valid) == pytest.approx(0.0)
    metrics = all_metrics(shifted, true, valid, {"lips": [0], "upper_face": [1]}, template)
    assert metrics["mse_face"] == pytest.approx(1.0) and metrics["mve"] == pytest.approx(3**0.5)


def test_fdd_uses_squared_distances_as_codetalker():
    """One upper-face vertex oscillating along x at 1 and 3 cm from the template: squared distances
    1 and 9, standard deviation 4; a static prediction at 2 cm has none. FDD = 4 cm² (the L2
    distance would give 1)."""
    template = np.zeros((2, 3))
    true = np.zeros((4, 2, 3))
    true[:, 0, 0] = [1, 3, 1, 3]
    pred = np.zeros((4, 2, 3))
    pred[:, 0, 0] = 2
    valid = np.ones(4, bool)
    assert upper_face_dynamics_deviation(pred, true, valid, [0], template) == pytest.approx(4.0)


def test_mse_and_velocity_by_hand():
    true = np.zeros((3, 2, 3))
    pred = np.zeros((3, 2, 3))
    pred[1, 0, 0] = 2.0  # one coordinate off by 2 in frame 1
    valid = np.array([True, True, True])
    assert mse(pred, true, valid) == pytest.approx(4 / 18)
    assert mse(pred, true, valid, [0]) == pytest.approx(4 / 9)
    # velocities of pred: +2 then −2 on that coordinate; truth still: (4 + 4) / (2 · 6)
    assert velocity_mse(pred, true, valid) == pytest.approx(8 / 12)
    valid[2] = False  # only the pair (0, 1) is left: 4 / 6
    assert velocity_mse(pred, true, valid) == pytest.approx(4 / 6)


def test_blendshape_metrics_by_hand():
    true = np.array([[0.0, 0.5], [1.0, 0.5], [0.0, 0.5], [1.0, 0.5]])
    pred = np.array([[0.1, 0.5], [0.9, 0.7], [0.1, 0.5], [0.5, 0.5]])
    valid = np.array([True, True, True, False])
    result = blendshape_metrics(pred, true, valid, ["a", "b"])
    assert result["a"]["mae"] == pytest.approx(0.1) and result["a"]["rmse"] == pytest.approx(0.1)
    assert result["a"]["correlation"] == pytest.approx(1.0)  # 0.1, 0.9, 0.1 vs 0, 1, 0
    assert result["b"]["mae"] == pytest.approx(0.2 / 3)
    assert result["b"]["correlation"] is None  # the truth does not move: r is undefined
    assert correlation(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1)
