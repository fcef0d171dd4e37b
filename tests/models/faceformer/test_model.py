"""The FaceFormer-style decoder: masks as the original defines them, three decoding paths equal."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.models.faceformer.model import (
    FaceFormer,
    FaceFormerConfig,
    alibi_slopes,
    alignment_bias,
    biased_causal_bias,
)


def original_biased_mask(num_heads: int, length: int, period: int) -> np.ndarray:
    """FaceFormer's init_biased_mask, transcribed to numpy loops."""
    slopes = alibi_slopes(num_heads)
    bias = -(np.repeat(np.arange(0, length, period), period)[:length] // period)[::-1]
    alibi = np.zeros((length, length))
    for i in range(length):
        alibi[i, : i + 1] = bias[-(i + 1) :]
    causal = np.where(np.tril(np.ones((length, length))) == 1, 0.0, -np.inf)
    return causal[None] + slopes[:, None, None] * alibi[None]


@pytest.mark.parametrize("heads, period", [(4, 25), (8, 3), (6, 5)])
def test_biased_causal_mask_is_faceformers(heads, period):
    frames = jnp.arange(40)
    ours = np.asarray(biased_causal_bias(frames, frames, heads, period))
    theirs = original_biased_mask(heads, 40, period)
    allowed = np.isfinite(theirs)
    np.testing.assert_array_equal(ours < -1e8, ~allowed)
    np.testing.assert_allclose(ours[allowed], theirs[allowed], atol=1e-6)


def test_slopes_for_power_of_two_heads():
    np.testing.assert_allclose(alibi_slopes(4), [0.25, 0.0625, 0.015625, 0.00390625])


@pytest.mark.parametrize("window", [2, 4, 6])
def test_alignment_mask_window(window):
    """Frame i sees encoder positions [2i − (w − 2), 2i + 2) of the 50 Hz Whisper features."""
    bias = np.asarray(alignment_bias(jnp.arange(10), 20, 2, window))
    for i in range(10):
        allowed = set(np.flatnonzero(bias[i] == 0))
        assert allowed == set(range(max(0, 2 * i - (window - 2)), 2 * i + 2))


def _model(**changes):
    values = {
        "num_landmarks": 468,
        "feature_dim": 32,
        "num_heads": 4,
        "num_layers": 2,
        "period": 5,
        "audio_encoder": {"kind": "conv", "conv_channels": 16, "conv_features": 16},
    }
    values.update(changes)
    config = FaceFormerConfig.from_dict(values)
    return FaceFormer(config), config


def _perturbed_init(model, audio, frames, landmarks):
    @jax.jit
    def init(audio):
        targets = jnp.zeros((audio.shape[0], frames, landmarks * 3))
        variables = model.init(jax.random.key(0), audio, targets)
        key = jax.random.key(1)
        return jax.tree.map(lambda x: x + 0.05 * jax.random.normal(key, x.shape), variables)

    return init(audio)


@pytest.mark.parametrize("kind", ["conv", "whisper"])
def test_teacher_forcing_cache_and_recompute_agree(rng, kind):
    encoder = {"kind": "conv", "conv_channels": 16, "conv_features": 16}
    if kind == "whisper":
        encoder = {"kind": "whisper", "size": "tiny"}
    model, config = _model(align_window=2 if kind == "whisper" else 1, audio_encoder=encoder)
    frames = 12
    audio = jnp.asarray(rng.normal(size=(2, frames * 640)).astype(np.float32))
    variables = _perturbed_init(model, audio, frames, 468)
    cached = jax.jit(partial(model.apply, num_frames=frames, method=FaceFormer.generate))(
        variables, audio
    )
    recompute = partial(model.apply, num_frames=frames, method=FaceFormer.generate_recompute)
    recomputed = jax.jit(recompute)(variables, audio)
    forced = jax.jit(model.apply)(variables, audio, cached)  # its own outputs as previous frames
    assert cached.shape == (2, frames, 468 * 3) and float(jnp.abs(cached).max()) > 1e-2
    np.testing.assert_allclose(recomputed, cached, atol=1e-5)
    np.testing.assert_allclose(forced, cached, atol=1e-5)


def test_zero_initialised_output_and_478_landmarks(rng):
    model, _ = _model(num_landmarks=478)
    audio = jnp.asarray(rng.normal(size=(1, 10 * 640)).astype(np.float32))
    targets = jnp.asarray(rng.normal(size=(1, 10, 478 * 3)).astype(np.float32))
    variables = model.init(jax.random.key(0), audio, targets)
    assert not np.asarray(variables["params"]["output"]["kernel"]).any()
    assert np.asarray(model.apply(variables, audio, targets)).shape == (1, 10, 1434)


def test_bfloat16_compute(rng):
    model, _ = _model(dtype="bfloat16")
    audio = jnp.asarray(rng.normal(size=(1, 8 * 640)).astype(np.float32))
    variables = _perturbed_init(model, audio, 8, 468)
    out = model.apply(variables, audio, 8, method=FaceFormer.generate)
    assert out.dtype == jnp.float32 and np.isfinite(np.asarray(out)).all()


def test_dropout_only_with_a_key(rng):
    """Dropout is on exactly when a "dropout" rng is given (training), in every decoding path."""
    encoder = {"kind": "conv", "conv_channels": 16, "conv_features": 16}
    model, _ = _model(dropout=0.3, align_window=1, audio_encoder=encoder)
    plain, _ = _model(dropout=0.0, align_window=1, audio_encoder=encoder)
    frames = 10
    audio = jnp.asarray(rng.normal(size=(2, frames * 640)).astype(np.float32))
    variables = _perturbed_init(model, audio, frames, 468)
    targets = jnp.asarray(rng.normal(size=(2, frames, 468 * 3)).astype(np.float32))
    for args, method in (((targets,), None), ((frames,), FaceFormer.generate)):
        kwargs = {"method": method} if method else {}
        off = model.apply(variables, audio, *args, **kwargs)
        np.testing.assert_allclose(off, plain.apply(variables, audio, *args, **kwargs), atol=1e-6)
        on = [
            model.apply(variables, audio, *args, rngs={"dropout": jax.random.key(k)}, **kwargs)
            for k in (0, 0, 1)
        ]
        np.testing.assert_array_equal(on[0], on[1])  # same key, same masks
        assert float(jnp.abs(on[0] - off).max()) > 1e-3
        assert float(jnp.abs(on[0] - on[2]).max()) > 1e-3


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"output_type": "velocity"}, "output_type"),
        ({"num_landmarks": 500}, "num_landmarks"),
        ({"feature_dim": 30, "num_heads": 4}, "divisible"),
        ({"hidden": 3}, "unknown field 'hidden'"),
        ({"audio_encoder": {"kind": "lstm"}}, "kind must be"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_config_errors(changes, message):
    with pytest.raises(TalkmeshError, match=message):
        _model(**changes)


@pytest.mark.parametrize("chunk", [3, 4])
def test_rematerialised_chunks_give_the_same_values_and_gradients(rng, chunk):
    """Autoregressive decoding in checkpointed chunks (10 frames: 4 chunks of 3, or 3 of 4, the
    last padded) equals the plain scan, forward and backward."""
    model, _ = _model()
    frames = 10
    audio = jnp.asarray(rng.normal(size=(2, frames * 640)).astype(np.float32))
    variables = _perturbed_init(model, audio, frames, 468)

    def loss(variables, chunk):
        out = model.apply(variables, audio, frames, chunk, method=FaceFormer.generate)
        return jnp.sum(jnp.sin(3 * out)), out

    (plain_loss, plain), plain_grad = jax.value_and_grad(partial(loss, chunk=0), has_aux=True)(
        variables
    )
    (chunk_loss, chunked), chunk_grad = jax.value_and_grad(
        partial(loss, chunk=chunk), has_aux=True
    )(variables)
    assert chunked.shape == plain.shape == (2, frames, 468 * 3)
    np.testing.assert_allclose(chunked, plain, atol=1e-5)
    np.testing.assert_allclose(chunk_loss, plain_loss, rtol=1e-5)
    for got, want in zip(jax.tree.leaves(chunk_grad), jax.tree.leaves(plain_grad), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # gradients ~1e-2
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(plain_grad)) > 1e-2
