"""Upper-face motion and blink counts on faces whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax.facemesh import canonical_face, region_indices
from talkmesh_jax.inference.liveliness import Liveliness, blink_count, upper_face_motion


def _face(frames: int) -> np.ndarray:
    face = np.zeros((478, 3), np.float32)
    face[:468] = canonical_face()["vertices"]
    return np.repeat(face[None], frames, 0).copy()


def test_blinks_are_counted_once_each_and_invalid_frames_do_not_make_them() -> None:
    landmarks = _face(250)
    for start in (20, 90, 200):  # three blinks: both upper lids down onto the lower ones
        for upper, lower in ((159, 145), (386, 374)):
            landmarks[start : start + 5, upper] = landmarks[start : start + 5, lower]
    valid = np.ones(250, bool)
    assert blink_count(landmarks, valid) == 3
    landmarks[150:153] = 0.0  # an invalid run (zeroed): not a blink
    valid[150:153] = False
    assert blink_count(landmarks, valid) == 3


def test_upper_face_motion_is_the_vertices_std_and_the_ratio_compares_model_to_data() -> None:
    upper = region_indices()["upper_face"]
    still, moving = _face(100), _face(100)
    moving[:, upper, 1] += 0.1 * np.sin(np.linspace(0, 20, 100))[:, None]  # std ≈ 0.0707 cm
    valid = np.ones(100, bool)
    assert upper_face_motion(still, valid, upper) == pytest.approx(0.0, abs=1e-5)
    assert upper_face_motion(moving, valid, upper) == pytest.approx(0.1 / np.sqrt(2), rel=0.05)
    lively = Liveliness(upper, blinks=True)
    lively.add(moving, still, valid)
    summary = lively.summary()
    assert summary["upper_face_motion_cm"]["ratio"] < 1e-3  # a still model: collapsed
    assert summary["blinks_per_minute"] == {"data": 0.0, "model": 0.0, "ratio": None}
