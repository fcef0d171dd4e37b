"""The CPU attention kernel (csrc/attention*.cc) against a float64 numpy reference, every
instruction-set variant this CPU runs; its XLA FFI path, fallback and gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax import _attention
from talkmesh_jax.whisper.attention import FFI_TARGET, attention, sliced_attention

ISAS = _attention.available_isas().split(",")


def reference(q, k, v, scale):
    scores = np.einsum("bqhd,bkhd->bhqk", q.astype(np.float64), k.astype(np.float64)) * scale
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bhqk,bkhd->bqhd", weights, v.astype(np.float64))


def qkv(batch, q_len, kv_len, heads, head_dim, spread=1.0, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((batch, q_len, heads, head_dim), np.float32) * spread
    k = rng.standard_normal((batch, kv_len, heads, head_dim), np.float32)
    v = rng.standard_normal((batch, kv_len, heads, head_dim), np.float32)
    return q, k, v


@pytest.fixture(params=ISAS)
def isa(request):
    best = _attention.isa()
    assert _attention.set_isa(request.param)
    yield request.param
    _attention.set_isa(best)


@pytest.mark.parametrize(
    "shape",
    [
        (2, 37, 53, 3, 16),  # partial query blocks, register tiles and key panels
        (1, 100, 1500, 2, 64),  # Whisper's head size, one key block
        (1, 50, 4500, 1, 64),  # three key blocks: the online softmax rescales
        (2, 7, 5, 1, 48),  # fewer keys than a panel, head_dim not a multiple of 64
    ],
)
def test_kernel_matches_float64_reference(isa, shape):
    q, k, v = qkv(*shape, spread=3.0)  # peaked softmax: large score ranges
    out = _attention.attention(q, k, v, 0.3, threads=2)
    np.testing.assert_allclose(out, reference(q, k, v, 0.3), atol=2e-5, rtol=0)


def test_kernel_scores_far_apart_across_key_blocks(isa):
    q, k, v = qkv(1, 20, 4200, 1, 32)
    k[:, 4100:] *= 10.0  # the largest scores (~50) arrive in the last key block only
    out = _attention.attention(q, k, v, 0.5)
    # float32 scores of ~50 are exact to ~4e-6, so the weights to ~4e-6 relative; a rescaling
    # error would be of order one
    np.testing.assert_allclose(out, reference(q, k, v, 0.5), atol=5e-5, rtol=0)


def test_kernel_threads_give_identical_results():
    q, k, v = qkv(2, 300, 300, 4, 64)
    one = _attention.attention(q, k, v, 0.125, threads=1)
    np.testing.assert_array_equal(one, _attention.attention(q, k, v, 0.125, threads=3))


def test_kernel_rejects_bad_shapes():
    q, k, v = qkv(1, 4, 4, 1, 24)
    with pytest.raises(ValueError, match="head_dim 24 is not a multiple of 16"):
        _attention.attention(q, k, v, 1.0)
    q, k, v = qkv(1, 4, 4, 1, 32)
    with pytest.raises(ValueError, match="k and v differ in length"):
        _attention.attention(q, k, v[:, :3], 1.0)


def test_isa_choice():
    assert _attention.isa() == ISAS[0]  # the best this CPU runs is the default
    assert not _attention.set_isa("sse9")


def test_jax_attention_calls_the_kernel_on_cpu():
    q, k, v = (jnp.asarray(x) for x in qkv(2, 40, 60, 2, 64))
    fn = jax.jit(lambda q, k, v: attention(q, k, v, 0.125))
    assert FFI_TARGET in fn.lower(q, k, v).as_text()
    expected = reference(*map(np.asarray, (q, k, v)), 0.125)
    np.testing.assert_allclose(fn(q, k, v), expected, atol=2e-6)


def test_jax_attention_falls_back_for_bfloat16_and_odd_heads():
    q, k, v = (jnp.asarray(x, jnp.bfloat16) for x in qkv(1, 30, 30, 2, 64))
    lowered = jax.jit(lambda q, k, v: attention(q, k, v, 0.125)).lower(q, k, v).as_text()
    assert FFI_TARGET not in lowered
    q, k, v = (jnp.asarray(x) for x in qkv(1, 30, 30, 2, 24))
    fn = jax.jit(lambda q, k, v: attention(q, k, v, 0.2))
    assert FFI_TARGET not in fn.lower(q, k, v).as_text()
    np.testing.assert_allclose(fn(q, k, v), reference(*map(np.asarray, (q, k, v)), 0.2), atol=2e-6)


def reference_gradients(q, k, v, scale, upstream):
    """float64 numpy gradients of sum(attention · upstream) with respect to q, k and v."""
    q, k, v, g = (x.astype(np.float64) for x in (q, k, v, upstream))
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    dv = np.einsum("bhqk,bqhd->bkhd", p, g)
    dp = np.einsum("bqhd,bkhd->bhqk", g, v)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    dq = np.einsum("bhqk,bkhd->bqhd", ds, k) * scale
    dk = np.einsum("bhqk,bqhd->bkhd", ds, q) * scale
    return dq, dk, dv


def test_kernel_gradient_matches_a_float64_reference():
    """The kernel's VJP (through the XLA formulation) against an independent float64 backward
    pass of the softmax attention, on a loss whose upstream gradient is 2 · output."""
    q, k, v = qkv(1, 24, 40, 2, 32, seed=3)

    def loss(q, k, v):
        return (attention(q, k, v, 0.2) ** 2).sum()

    ours = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(*(jnp.asarray(x) for x in (q, k, v)))
    output = reference(q, k, v, 0.2)
    expected = reference_gradients(q, k, v, 0.2, 2 * output)
    for name, got, want in zip("qkv", ours, expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, atol=2e-5, rtol=1e-4, err_msg=name)
        assert np.abs(want).max() > 0.1, name
    xla = jax.jit(jax.grad(lambda *a: (sliced_attention(*a, 0.2) ** 2).sum(), argnums=(0, 1, 2)))
    for got, want in zip(ours, xla(*(jnp.asarray(x) for x in (q, k, v))), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)  # the formulation it differentiates
