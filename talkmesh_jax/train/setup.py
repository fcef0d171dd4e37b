"""Model family, optimiser and initial state from a config."""

from __future__ import annotations

from dataclasses import dataclass

import ml_collections
import optax

from talkmesh_jax.models.audio_encoder import AudioEncoderConfig, build_audio_encoder
from talkmesh_jax.models.build import init_variables
from talkmesh_jax.models.family import ModelFamily
from talkmesh_jax.models.registry import build_family
from talkmesh_jax.train.optim import make_optimizer
from talkmesh_jax.train.state import TrainState, create_state


@dataclass
class Setup:
    family: ModelFamily
    tx: optax.GradientTransformation
    state: TrainState  # host arrays


def _pretrained_encoder(encoder: AudioEncoderConfig | None, variables):
    """`variables` with a pretrained Whisper checkpoint in their `audio_encoder`."""
    if encoder is None or encoder.kind != "whisper" or encoder.checkpoint is None:
        return variables
    _, pretrained = build_audio_encoder(encoder)
    params = dict(variables["params"])
    params["audio_encoder"] = pretrained
    return {**variables, "params": params}


def build(config: ml_collections.ConfigDict, load_pretrained: bool = True, data=None) -> Setup:
    """Builds the family and a fresh state (seeded by train.seed, with the statistics of the
    run's `data` (`train.data.RunData`) where the family keeps some); a pretrained Whisper
    checkpoint is loaded into the audio encoder when `load_pretrained` (not needed before a
    restore)."""
    family = build_family(config)
    window = int(config.data.window_frames)
    variables = init_variables(family, window, int(config.train.seed), data)
    if load_pretrained:
        variables = _pretrained_encoder(family.audio_encoder_config, variables)
    tx = make_optimizer(config.train, variables, family.frozen, family.stages())
    return Setup(family, tx, create_state(variables, tx))
