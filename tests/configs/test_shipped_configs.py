"""Every shipped config trains: resolved as `talkmesh train` resolves it (new defaults, option
checks, the Whisper architecture of the configured size — tiny's where the encoder is fine-tuned,
so `large_gpu`'s backward pass through Whisper compiles in seconds — with random weights instead
of a download), its family built, and one training step of every stage run on tiny shapes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax.bench.meshtalk import at_stage_start
from talkmesh_jax.bench.train import _batch
from talkmesh_jax.config import apply_overrides, builtin_configs, load_config
from talkmesh_jax.train.loop import fill_new_defaults, resolve_encoder_architecture, validate_config
from talkmesh_jax.train.parallel import DataParallel
from talkmesh_jax.train.setup import build
from talkmesh_jax.train.step import make_train_step


def _tiny(name: str):
    config = load_config(name)
    devices = jax.local_device_count()
    overrides = [
        "model.audio_encoder.checkpoint=None",  # random weights of the configured size
        f"data.batch_size={devices}",
        "data.window_frames=8",
    ]
    if config.model.num_landmarks is None:  # the dataset's count, resolved when training starts
        overrides.append("model.num_landmarks=478")
    encoder = config.model.audio_encoder
    if encoder.kind == "whisper" and not encoder.frozen:  # fine-tuned Whisper at tiny's size:
        overrides.append("model.audio_encoder.size='tiny'")  # the same code, 1/5 the compile
    apply_overrides(config, overrides)
    fill_new_defaults(config)
    validate_config(config)
    resolve_encoder_architecture(config)
    return config


def test_every_shipped_config_is_listed():
    assert set(builtin_configs()) >= {"tiny", "original", "large_gpu", "meshtalk_tiny"}


@pytest.mark.parametrize("name", sorted(builtin_configs()))
def test_shipped_config_trains_a_step_of_every_stage(name):
    config = _tiny(name)
    setup = build(config, load_pretrained=False)
    step = make_train_step(setup.family, setup.tx, config)
    runner = DataParallel(step, config.train.parallel)
    batch = runner.put_batch(_batch(config, setup.family))
    reference = jnp.zeros((int(config.model.num_landmarks), 3))
    for stage in setup.family.stages():
        state = runner.put_state(at_stage_start(setup.state, stage.start))
        state, metrics = runner.step(state, batch, reference)
        assert np.isfinite(float(metrics["loss"])), (name, stage.name)
        # a stage that trains something has a gradient (its first learning rate may be 0)
        assert 0 < float(metrics["grad_norm"]) < np.inf, (name, stage.name)
