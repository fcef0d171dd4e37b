"""The target vector: which parts a model predicts, their loss weights, and the split back."""

import numpy as np
import pytest

from talkmesh_jax.targets import TargetLayout, make_targets


@pytest.mark.parametrize(
    "targets, dim", [("landmarks", 1434), ("blendshapes", 52), ("landmarks+blendshapes", 1486)]
)
def test_layout_dims_and_weights(targets, dim):
    layout = TargetLayout.of(targets, 478, 52)
    assert layout.dim == dim
    weights = layout.weights(blendshape_weight=3.0)
    assert weights.shape == (dim,)
    landmark_part, blendshape_part = weights[: layout.landmark_dim], weights[layout.landmark_dim :]
    assert landmark_part.sum() == pytest.approx(1.0 if layout.num_landmarks else 0.0)
    # blendshapes weigh blendshape_weight next to landmarks, 1 alone
    expected = 3.0 if targets == "landmarks+blendshapes" else (1.0 if layout.num_blendshapes else 0)
    assert blendshape_part.sum() == pytest.approx(expected)
    with pytest.raises(ValueError, match="targets must be one of"):
        TargetLayout.of("mesh", 478, 52)


def test_make_targets_and_split_round_trip(rng):
    layout = TargetLayout.of("landmarks+blendshapes", 468, 52)
    reference = rng.normal(size=(468, 3)).astype(np.float32)
    batch = {
        "landmarks": rng.normal(size=(2, 5, 478, 3)).astype(np.float32),  # irises are dropped
        "blendshapes": rng.random((2, 5, 52)).astype(np.float32),
        "mask": np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 0]], bool),
    }
    targets = make_targets(batch, reference, layout)
    assert targets.shape == (2, 5, 468 * 3 + 52)
    assert not targets[~batch["mask"]].any()  # invalid frames: zero targets
    parts = layout.split(targets, reference)
    valid = batch["mask"]
    want = batch["landmarks"][valid][:, :468]
    np.testing.assert_allclose(parts["landmarks"][valid], want, atol=1e-6)
    np.testing.assert_array_equal(parts["blendshapes"][valid], batch["blendshapes"][valid])
    only = TargetLayout.of("blendshapes", 468, 52)
    assert set(only.split(targets[..., -52:])) == {"blendshapes"}
    with pytest.raises(ValueError, match="batch has none"):
        make_targets({"landmarks": batch["landmarks"], "mask": valid}, reference, only)
