"""Model, optimiser and initial state from a config: shared by training, evaluation and export."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import ml_collections
import optax

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.config import config_to_dict
from talkmesh_jax.models.audio_encoder import build_audio_encoder
from talkmesh_jax.models.faceformer import FaceFormer, FaceFormerConfig
from talkmesh_jax.train.optim import make_optimizer
from talkmesh_jax.train.state import TrainState, create_state


@dataclass
class Setup:
    model: FaceFormer
    model_config: FaceFormerConfig
    tx: optax.GradientTransformation
    state: TrainState  # host arrays


def build(config: ml_collections.ConfigDict, load_pretrained: bool = True) -> Setup:
    """Builds the model and a fresh state (seeded by train.seed); a pretrained Whisper checkpoint
    is loaded into the audio encoder when `load_pretrained` (not needed before a restore)."""
    model_config = FaceFormerConfig.from_dict(config_to_dict(config.model))
    model = FaceFormer(model_config)
    frames = int(config.data.window_frames)
    audio = jnp.zeros((1, frames * SAMPLES_PER_FRAME), jnp.float32)
    targets = jnp.zeros((1, frames, model_config.layout.dim), jnp.float32)
    variables = jax.jit(model.init)(jax.random.key(int(config.train.seed)), audio, targets)
    variables = jax.device_get(variables)
    encoder = model_config.audio_encoder
    if load_pretrained and encoder.kind == "whisper" and encoder.checkpoint is not None:
        _, pretrained = build_audio_encoder(encoder)
        params = dict(variables["params"])
        params["audio_encoder"] = pretrained
        variables = {"params": params}
    frozen = ("audio_encoder",) if encoder.kind == "whisper" and encoder.frozen else ()
    tx = make_optimizer(config.train, variables, frozen)
    return Setup(model, model_config, tx, create_state(variables, tx))
