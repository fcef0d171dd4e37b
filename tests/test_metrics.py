"""Evaluation metrics on hand-computable inputs."""

import numpy as np
import pytest

from talkmesh_jax.metrics import (
    all_metrics,
    lip_vertex_error,
    mean_vertex_error,
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
    valid = np.ones(30, bool)
    valid[10] = False
    shifted = true + 1.0  # constant offset: velocities identical
    assert velocity_mse(shifted, true, valid) == pytest.approx(0.0)
    metrics = all_metrics(shifted, true, valid, {"lips": [0], "upper_face": [1]}, template)
    assert metrics["mse_face"] == pytest.approx(1.0) and metrics["mve"] == pytest.approx(3**0.5)
