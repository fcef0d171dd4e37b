"""The model of a config, and its variables' shapes without computing them: what training and
inference (which never needs the optimiser) both start from."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.config import config_to_dict
from talkmesh_jax.models.faceformer import FaceFormer, FaceFormerConfig


def build_model(config: ml_collections.ConfigDict) -> FaceFormer:
    """The model that `config.model` describes (unknown or bad fields are one-line errors)."""
    return FaceFormer(FaceFormerConfig.from_dict(config_to_dict(config.model)))


def example_inputs(model: FaceFormer, window_frames: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(audio [1, W·640], targets [1, W, D]) zeros, to initialise or trace the model."""
    audio = jnp.zeros((1, window_frames * SAMPLES_PER_FRAME), jnp.float32)
    return audio, jnp.zeros((1, window_frames, model.config.layout.dim), jnp.float32)


def init_variables(model: FaceFormer, window_frames: int, seed: int):
    """Freshly initialised variables ({"params": …}) as host arrays."""
    variables = jax.jit(model.init)(jax.random.key(seed), *example_inputs(model, window_frames))
    return jax.device_get(variables)


def abstract_variables(model: FaceFormer, window_frames: int):
    """The variables' ShapeDtypeStructs, traced without computing (or allocating) anything."""
    return jax.eval_shape(model.init, jax.random.key(0), *example_inputs(model, window_frames))
