"""Training rules that are easy to get wrong: weight decay only on weight matrices, the EMA's
warm-up, truncated metric logs, validation windows from every clip, refused combinations."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.config import apply_overrides, load_config
from talkmesh_jax.data.packed import concatenate_clips
from talkmesh_jax.train.data import validation_batches
from talkmesh_jax.train.logs import MetricsLog, read_metrics
from talkmesh_jax.train.optim import decay_mask, make_optimizer
from talkmesh_jax.train.setup import build
from talkmesh_jax.train.step import ema_warmup

# a Whisper trained with the decoder (tiny's encoder is not frozen): it sees its windows
TRAINED_WHISPER = (
    "model.audio_encoder.kind='whisper'",
    "model.audio_encoder.size='tiny'",
    "model.audio_encoder.context='window'",
)


def _tiny(*overrides: str):
    config = load_config("tiny")
    apply_overrides(config, ["model.num_landmarks=468", "data.window_frames=8", *overrides])
    return config


def test_weight_decay_spares_biases_norms_and_positions():
    config = _tiny(*TRAINED_WHISPER)
    params = build(config, load_pretrained=False).state.params
    mask = jax.tree_util.tree_flatten_with_path(decay_mask(params))[0]
    decayed = {jax.tree_util.keystr(p) for p, flag in mask if flag}
    spared = {jax.tree_util.keystr(p) for p, flag in mask if not flag}
    assert any("['output']['kernel']" in k for k in decayed)
    assert any("conv1']['kernel']" in k for k in decayed)  # Whisper's convolution
    assert not any("bias" in k or "scale" in k or "embed_positions" in k for k in decayed)
    assert any("embed_positions" in k for k in spared) and any("scale" in k for k in spared)
    # adamw with zero gradients: kernels shrink by lr · decay, biases and norms stay
    apply_overrides(config, ["train.optimizer='adamw'", "train.weight_decay=0.5"])
    apply_overrides(config, ["train.schedule='constant'", "train.warmup_steps=0"])
    tx = make_optimizer(config.train, params, ())
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zeros, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    layer, old_layer = new["params"]["layers_0"], params["params"]["layers_0"]
    np.testing.assert_array_equal(layer["norms_0"]["scale"], old_layer["norms_0"]["scale"])
    np.testing.assert_array_equal(layer["ffn_in"]["bias"], old_layer["ffn_in"]["bias"])
    lr = float(config.train.learning_rate)
    expected = old_layer["ffn_in"]["kernel"] * (1 - lr * 0.5)
    np.testing.assert_allclose(layer["ffn_in"]["kernel"], expected, rtol=1e-6)


def test_ema_follows_the_parameters_early():
    assert float(ema_warmup(0.999, jnp.asarray(0))) == pytest.approx(0.1)
    assert float(ema_warmup(0.999, jnp.asarray(90))) == pytest.approx(91 / 100)
    assert float(ema_warmup(0.9, jnp.asarray(10_000))) == pytest.approx(0.9)


def test_a_truncated_last_metrics_line_is_skipped(tmp_path):
    lines = [json.dumps({"step": s, "loss": 1.0 / s}) for s in (10, 20, 30)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + '\n{"step": 40, "lo')
    assert [r["step"] for r in read_metrics(tmp_path)] == [10, 20, 30]
    MetricsLog(tmp_path, tensorboard=False, resume_step=20).close()  # resume at step 20
    assert [r["step"] for r in read_metrics(tmp_path)] == [10, 20]


def test_validation_windows_come_from_every_clip():
    frames = [60, 60, 60, 60]  # 4 clips of 7 windows of 8 frames
    clips = concatenate_clips(
        [np.zeros(n * 640, np.float32) for n in frames],
        [np.zeros((n, 468, 3), np.float32) for n in frames],
        [np.ones(n, bool) for n in frames],
    )
    config = _tiny("eval.max_windows=8", "eval.batch_size=4")
    batches = validation_batches(config, clips)
    chosen = np.concatenate([b["clip"] for b in batches])
    assert len(chosen) == 8 and len(set(chosen.tolist())) >= 3  # not the first clip's 8 windows
    again = np.concatenate([b["start"] for b in validation_batches(config, clips)])
    np.testing.assert_array_equal(again, np.concatenate([b["start"] for b in batches]))
    short = concatenate_clips([np.zeros(640 * 5, np.float32)], [np.zeros((5, 468, 3))], [[1] * 5])
    with pytest.raises(TalkmeshError, match="validation split of .*longer than every clip"):
        validation_batches(config, short)


def test_the_model_is_built_from_the_saved_architecture_without_reading_files():
    """Training resolves Whisper's shape into the config; building the model from it reads no
    checkpoint (here: one that does not exist)."""
    from talkmesh_jax.models.build import abstract_variables, build_family
    from talkmesh_jax.train.loop import resolve_encoder_architecture
    from talkmesh_jax.whisper.encoder import WHISPER_SIZES

    config = _tiny(*TRAINED_WHISPER)
    resolve_encoder_architecture(config)
    assert dict(config.model.audio_encoder.architecture) == WHISPER_SIZES["tiny"].as_dict()
    apply_overrides(config, ["model.audio_encoder.checkpoint='/nonexistent/whisper'"])
    shapes = abstract_variables(build_family(config), 8)
    assert shapes["params"]["audio_encoder"]["encoder"]["conv1"]["kernel"].shape == (3, 80, 384)
    with config.model.audio_encoder.unlocked():
        config.model.audio_encoder.architecture = None
    with pytest.raises(TalkmeshError, match="nonexistent"):
        abstract_variables(build_family(config), 8)
