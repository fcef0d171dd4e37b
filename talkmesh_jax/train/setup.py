"""Model, optimiser and initial state from a config: shared by training, evaluation and export."""

from __future__ import annotations

from dataclasses import dataclass

import ml_collections
import optax

from talkmesh_jax.models.audio_encoder import build_audio_encoder
from talkmesh_jax.models.build import build_model, init_variables
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
    model = build_model(config)
    model_config = model.config
    variables = init_variables(model, int(config.data.window_frames), int(config.train.seed))
    encoder = model_config.audio_encoder
    if load_pretrained and encoder.kind == "whisper" and encoder.checkpoint is not None:
        _, pretrained = build_audio_encoder(encoder)
        params = dict(variables["params"])
        params["audio_encoder"] = pretrained
        variables = {"params": params}
    frozen = ("audio_encoder",) if encoder.kind == "whisper" and encoder.frozen else ()
    tx = make_optimizer(config.train, variables, frozen)
    return Setup(model, model_config, tx, create_state(variables, tx))
