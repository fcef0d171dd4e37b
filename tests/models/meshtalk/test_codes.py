"""The latent-usage measures on codes whose answer is known, and the encoder never seeing an
invalid frame's geometry."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax.models.meshtalk.codes import changing_heads, collapsed, head_perplexity, usage


def test_perplexity_is_one_for_a_dead_head_and_c_for_a_uniform_one() -> None:
    rng = np.random.default_rng(0)
    codes = np.zeros((4, 500, 3), np.int64)
    codes[..., 1] = rng.integers(0, 8, (4, 500))  # uniform over 8 classes
    codes[..., 2] = np.arange(500) % 2  # two classes, half and half
    valid = np.ones((4, 500), bool)
    per_head = head_perplexity(codes, valid, 8)
    assert per_head[0] == pytest.approx(1.0)
    assert per_head[1] == pytest.approx(8.0, rel=0.02)
    assert per_head[2] == pytest.approx(2.0)
    valid[:, 250:] = False  # invalid frames do not count
    codes[:, 250:, 0] = 5
    assert head_perplexity(codes, valid, 8)[0] == pytest.approx(1.0)


def test_changing_heads_and_expression_share() -> None:
    codes = np.zeros((2, 10, 4), np.int64)
    codes[0, 5:, 0] = 1  # head 0 changes within window 0 only
    codes[:, :, 1] = np.arange(2)[:, None]  # head 1 differs between windows, constant in each
    valid = np.ones((2, 10), bool)
    assert changing_heads(codes, valid) == pytest.approx((1 / 4 + 0) / 2)
    swapped = codes.copy()
    swapped[..., 3] = 7  # the expression moves one head of four
    result = usage(codes, swapped, valid, 8)
    assert result["expression_share"] == pytest.approx(0.25)
    assert "0.0 %" in collapsed(usage(codes, codes, valid, 8))  # the latent ignores the face
    lively = np.random.default_rng(0).integers(0, 8, (2, 10, 4))
    assert collapsed(usage(lively, (lively + 1) % 8, valid, 8)) is None


def test_invalid_frames_never_reach_the_expression_encoder() -> None:
    """The logits of a window are the same whatever an invalid frame holds (zeros as extraction
    writes them, or noise), and they change when a valid frame changes."""
    from talkmesh_jax.models.meshtalk.model import MeshTalk, MeshTalkConfig

    model = MeshTalk(MeshTalkConfig(num_vertices=10, feature_dim=8, num_heads=3, num_classes=4))
    frames = 6
    audio = jnp.zeros((1, frames * 640))
    motion = jax.random.normal(jax.random.key(0), (1, frames, 30))
    variables = model.init(jax.random.key(1), audio, motion)
    code = model.apply(variables, audio, frames, method=MeshTalk.audio_code)
    mask = jnp.array([[1, 1, 0, 0, 1, 1]], jnp.float32)
    zeroed = motion.at[:, 2:4].set(-50.0)  # −template: what zeroed landmarks become
    noisy = motion.at[:, 2:4].set(jax.random.normal(jax.random.key(2), (1, 2, 30)) * 9)
    first = model.apply(variables, zeroed, code, mask, method=MeshTalk.encode)
    second = model.apply(variables, noisy, code, mask, method=MeshTalk.encode)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))
    moved = model.apply(variables, noisy.at[:, 1].add(1.0), code, mask, method=MeshTalk.encode)
    assert np.abs(np.asarray(moved) - np.asarray(first)).max() > 1e-4
