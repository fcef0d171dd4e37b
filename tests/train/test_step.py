"""The training step: its loss by hand for landmark and blendshape targets; dropout on in
training, the same masks for the same (seed, step) — so a resumed run repeats them — and other
masks at the next step."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax.config import apply_overrides
from talkmesh_jax.train.defaults import default_config
from talkmesh_jax.train.setup import build
from talkmesh_jax.train.step import make_train_step

SMALL = [
    "model.num_landmarks=468",
    "data.window_frames=8",
    "data.batch_size=2",
    "model.feature_dim=16",
    "model.align_window=1",
    "model.audio_encoder.kind='conv'",
    "model.audio_encoder.conv_channels=8",
    "model.audio_encoder.conv_features=8",
    "train.optimizer='adam'",
]


# autoregressive decoding with dropout is covered by tests/models/faceformer/test_model.py
@pytest.mark.parametrize("mode", ["teacher_forcing", "original_procedure"])
def test_dropout_in_the_step_is_reproducible(mode):
    rng = np.random.default_rng(0)
    batch = {
        "audio": jnp.asarray(rng.normal(size=(2, 8 * 640)).astype(np.float32)),
        "landmarks": jnp.asarray(rng.normal(0, 0.3, (2, 8, 468, 3)).astype(np.float32)),
        "mask": jnp.ones((2, 8), bool),
    }
    reference = jnp.zeros((468, 3))
    noise = jax.random.normal(jax.random.key(1), (1000,))
    losses = {}
    for dropout in (0.0, 0.5):
        config = default_config()
        apply_overrides(config, [*SMALL, f"train.mode={mode!r}", f"model.dropout={dropout}"])
        setup = build(config)
        # perturb the zero-initialised output layer so that dropout changes the predictions
        params = jax.tree.map(lambda x: x + 0.1 * jnp.resize(noise, x.shape), setup.state.params)
        state = setup.state.replace(params=params)
        step = jax.jit(partial(make_train_step(setup.family, setup.tx, config), axis_name=None))
        first = [float(step(state, batch, reference)[1]["loss"]) for _ in range(2)]
        later = float(step(state.replace(step=state.step + 1), batch, reference)[1]["loss"])
        losses[dropout] = (first, later)
    (off, off_later), (on, on_later) = losses[0.0], losses[0.5]
    assert off[0] == off[1] == off_later  # no dropout: the step number does not matter
    assert on[0] == on[1]  # same seed and step: same masks
    assert on[0] != on_later and on[0] != off[0]


@pytest.mark.parametrize("targets", ["landmarks", "blendshapes", "landmarks+blendshapes"])
def test_loss_is_landmark_mse_plus_weighted_blendshape_mse(targets):
    """The output layer starts at zero, so the first loss is computable by hand from the targets:
    mean over valid frames and values of (landmarks − reference)², plus 0.5 × the same for the
    blendshapes (or the blendshape mean alone)."""
    rng = np.random.default_rng(2)
    mask = rng.random((2, 8)) > 0.3
    landmarks = rng.normal(0, 0.3, (2, 8, 468, 3)).astype(np.float32)
    blendshapes = rng.random((2, 8, 52)).astype(np.float32)
    reference = rng.normal(0, 0.1, (468, 3)).astype(np.float32)
    batch = {"audio": jnp.zeros((2, 8 * 640)), "mask": jnp.asarray(mask)}
    batch |= {"landmarks": jnp.asarray(landmarks), "blendshapes": jnp.asarray(blendshapes)}
    config = default_config()
    overrides = [f"model.targets={targets!r}", "train.blendshape_weight=0.5"]
    apply_overrides(config, [*SMALL, *overrides])
    setup = build(config)
    step = jax.jit(partial(make_train_step(setup.family, setup.tx, config), axis_name=None))
    loss = float(step(setup.state, batch, jnp.asarray(reference))[1]["loss"])
    landmark_mse = float((((landmarks - reference)[mask]) ** 2).mean())
    blendshape_mse = float((blendshapes[mask] ** 2).mean())
    expected = {
        "landmarks": landmark_mse,
        "blendshapes": blendshape_mse,
        "landmarks+blendshapes": landmark_mse + 0.5 * blendshape_mse,
    }[targets]
    assert loss == pytest.approx(expected, rel=1e-5)
