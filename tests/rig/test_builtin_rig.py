"""The built-in test rig: ARKit names, independent targets, and the weights round trip."""

from __future__ import annotations

import numpy as np

from talkmesh_jax.data.synth import face_model
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.rig.builtin_rig import MOUTH_TARGETS, TARGET_NAMES, builtin_rig
from talkmesh_jax.rig.solve import solve_weights


def test_targets_are_arkit_named_sided_and_independent() -> None:
    neutral, targets = builtin_rig()
    assert neutral.shape == (478, 3) and list(targets) == list(TARGET_NAMES)
    assert set(TARGET_NAMES) <= set(BLENDSHAPE_NAMES)
    for name, field in targets.items():
        assert field.shape == (478, 3) and np.linalg.norm(field, axis=1).max() > 0.2, name
        if name.endswith(("Left", "Right")):  # the face's own left is +x
            other = neutral[:, 0] < -1e-6 if name.endswith("Left") else neutral[:, 0] > 1e-6
            assert np.abs(field[other]).max() == 0.0, name  # the midline moves half
    basis = np.stack([targets[n] for n in TARGET_NAMES]).reshape(len(targets), -1)
    singular = np.linalg.svd(basis, compute_uv=False)
    assert singular[-1] / singular[0] > 0.03  # no target is a mix of the others


def test_known_weights_come_back_from_noisy_landmarks() -> None:
    neutral, targets = builtin_rig()
    basis = np.stack([targets[n] for n in TARGET_NAMES])
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 1, (300, len(basis))) * (rng.random((300, len(basis))) < 0.4)
    landmarks = neutral + np.einsum("tk,knc->tnc", truth, basis)
    landmarks += rng.normal(0, 0.005, landmarks.shape)  # 0.05 mm: MediaPipe-like jitter
    solved = solve_weights(landmarks - neutral, basis)
    mouth = [TARGET_NAMES.index(n) for n in MOUTH_TARGETS]
    assert np.abs(solved[:, mouth] - truth[:, mouth]).max() <= 0.02
    assert np.abs(solved - truth).mean() < 0.005


def test_the_synthetic_jaw_drives_jaw_open_alone() -> None:
    neutral, targets = builtin_rig()
    basis = np.stack([targets[n] for n in TARGET_NAMES])
    opening = np.linspace(0, 0.8, 9)[:, None, None] * face_model()["jaw"][None]
    solved = solve_weights(opening, basis)
    np.testing.assert_allclose(
        solved[:, TARGET_NAMES.index("jawOpen")], np.linspace(0, 0.8, 9), atol=1e-3
    )
    others = np.delete(solved, TARGET_NAMES.index("jawOpen"), axis=1)
    assert np.abs(others).max() < 1e-3
