"""Softmax attention without mask, the Whisper encoder's: q, k, v [B, T, H, Dh] → [B, T, H, Dh].

Where it runs:
  GPU/TPU    `jax.nn.dot_product_attention` (XLA's fused kernels, cuDNN where available);
  CPU        float32 with head_dim a multiple of 16 (every Whisper size: 64): the package's C++
             kernel (csrc/attention*.cc) as an XLA FFI call (`talkmesh_cpu_attention`). One pass
             per (batch, head, block of 48 queries) with an online softmax over key blocks, so the
             [T, T] scores never leave the cache; inner loops for AVX-512, AVX2 or the baseline
             instruction set, chosen at run time; work shared on XLA's CPU thread pool. Its
             gradient is the XLA formulation's (below), recomputed in the backward pass;
  CPU, other dtypes or head sizes: XLA, one (batch, head) slice at a time (`sliced_attention`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import _attention

FFI_TARGET = "talkmesh_cpu_attention"


def attention(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray, scale: float) -> jnp.ndarray:
    """softmax(scale · q kᵀ) v per (batch, head); q [B, Tq, H, Dh], k and v [B, Tk, H, Dh]."""
    if jax.default_backend() != "cpu":
        return jax.nn.dot_product_attention(q, k, v, scale=scale)
    if uses_cpu_kernel(q, k, v):
        return cpu_kernel_attention(q, k, v, scale)
    return sliced_attention(q, k, v, scale)


def uses_cpu_kernel(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray) -> bool:
    """Whether the C++ kernel takes these operands (float32, head_dim a multiple of 16)."""
    return all(x.dtype == jnp.float32 for x in (q, k, v)) and q.shape[-1] % 16 == 0


def sliced_attention(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray, scale: float) -> jnp.ndarray:
    """XLA attention one (batch, head) slice at a time, so each [Tq, Tk] score matrix stays in
    cache (XLA's CPU softmax over the whole [B, H, Tq, Tk] tensor is memory-bound and about twice
    as slow at T = 1500). Any dtype; scores and softmax in float32."""
    b, tq, h, d = q.shape

    def heads(x: jnp.ndarray) -> jnp.ndarray:
        return x.transpose(0, 2, 1, 3).reshape(b * h, -1, d)

    def one_head(qkv: tuple[jnp.ndarray, ...]) -> jnp.ndarray:
        qh, kh, vh = qkv
        scores = ((qh * scale) @ kh.T).astype(jnp.float32)
        weights = jnp.exp(scores - scores.max(-1, keepdims=True))
        out = weights.astype(vh.dtype) @ vh
        return out / weights.sum(-1, keepdims=True).astype(vh.dtype)

    out = jax.lax.map(one_head, (heads(q), heads(k), heads(v)), batch_size=2)
    return out.reshape(b, h, tq, d).transpose(0, 2, 1, 3)


@functools.cache
def _register_ffi_target() -> None:
    jax.ffi.register_ffi_target(FFI_TARGET, _attention.ffi_handler(), platform="cpu")


def _kernel_call(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray, scale: float) -> jnp.ndarray:
    _register_ffi_target()
    call = jax.ffi.ffi_call(
        FFI_TARGET, jax.ShapeDtypeStruct(q.shape, jnp.float32), vmap_method="sequential"
    )
    return call(q, k, v, scale=np.float32(scale))


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def cpu_kernel_attention(
    q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray, scale: float
) -> jnp.ndarray:
    """The C++ kernel (float32, CPU); differentiable through `sliced_attention`'s gradient."""
    return _kernel_call(q, k, v, scale)


def _kernel_forward(q, k, v, scale):
    return _kernel_call(q, k, v, scale), (q, k, v)


def _kernel_backward(scale, residuals, grad):
    _, pullback = jax.vjp(lambda q, k, v: sliced_attention(q, k, v, scale), *residuals)
    return pullback(grad)


cpu_kernel_attention.defvjp(_kernel_forward, _kernel_backward)
