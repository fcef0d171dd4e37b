"""MeshTalk's autoregressive context model over categorical face codes (stage 2).

Codes c [B, T, H] (H heads, C classes each). Head h at frame t may depend only on heads < h at
frame t, on every head at earlier frames, and on the audio code a_t:
  x⁰[t, h] = Embed_h(c[t, h])                                          [D] per head
  layer l (dilation d_l ∈ 1, 2, 4, 8; causal temporal convolution of kernel 2):
    z[t] = leaky(A_l ⊙ M_l · xˡ[t] + B_l · xˡ[t − d_l] + U_l · a_t + b_l)     [H·D]
    xˡ⁺¹ = z (l = 0) or xˡ + z
  logits[t, h] = W_h · x^L[t, h] + w_h                                     [C]
M_0 is block strictly-lower (head h sees heads h' < h of the same frame: its own code is not
visible), M_l for l > 0 block lower-inclusive (position h' ≤ h already depends only on codes
< h' ≤ h). A_l, B_l are [H·D, H·D] (input, output); frames before 0 are zeros.

Sampling goes frame by frame and, within a frame, head by head; each head's step computes only
its own D outputs of each layer (a [H·D, D] column block of the masked weights), and the past
terms B_l · xˡ[t − d_l] are computed once per frame from a buffer of the last max(d) frames, so
a frame costs O(H²·D² + H·D²·L) whatever the sequence length.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

DILATIONS = (1, 2, 4, 8)
SLOPE = 0.2


def head_mask(num_heads: int, dim: int, strict: bool) -> np.ndarray:
    """[H·D, H·D] (input, output) 0/1 mask: input head h' feeds output head h iff h' < h
    (`strict`) or h' ≤ h."""
    heads = np.arange(num_heads)
    allowed = heads[:, None] < heads[None, :] if strict else heads[:, None] <= heads[None, :]
    return np.kron(allowed, np.ones((dim, dim))).astype(np.float32)


def shift_in_time(x: jnp.ndarray, frames: int) -> jnp.ndarray:
    """x [B, T, F] → x[t − frames] (zeros before the start)."""
    return jnp.pad(x, ((0, 0), (frames, 0), (0, 0)))[:, : x.shape[1]]


class ContextModel(nn.Module):
    """Logits [B, T, H, C] of each head's code given earlier heads and frames and the audio code
    a [B, T, F]."""

    num_heads: int = 64
    num_classes: int = 128
    dim: int = 16  # features per head
    dilations: tuple[int, ...] = DILATIONS

    def setup(self):
        h, c, d = self.num_heads, self.num_classes, self.dim
        width = h * d
        init = nn.initializers.variance_scaling(1.0, "fan_in", "normal")
        self.embedding = self.param("embedding", nn.initializers.normal(1.0), (h, c, d))
        self.same_frame = [
            self.param(f"same_frame_{i}", init, (width, width)) for i in range(len(self.dilations))
        ]
        self.past = [
            self.param(f"past_{i}", init, (width, width)) for i in range(len(self.dilations))
        ]
        self.audio = [nn.Dense(width, name=f"audio_{i}") for i in range(len(self.dilations))]
        self.out_kernel = self.param("out_kernel", init, (h, d, c))
        self.out_bias = self.param("out_bias", nn.initializers.zeros, (h, c))

    def masked(self) -> list[jnp.ndarray]:
        """The same-frame weights with their head masks applied."""
        return [
            w * head_mask(self.num_heads, self.dim, strict=i == 0)
            for i, w in enumerate(self.same_frame)
        ]

    def embed(self, codes: jnp.ndarray) -> jnp.ndarray:
        """codes [..., H] int → [..., H·D]."""
        heads = jnp.arange(self.num_heads)
        vectors = jnp.asarray(self.embedding)[heads, codes]  # [..., H, D]
        return vectors.reshape(*codes.shape[:-1], -1)

    def __call__(self, codes: jnp.ndarray, audio_code: jnp.ndarray) -> jnp.ndarray:
        """codes [B, T, H] int, audio_code [B, T, F] → logits [B, T, H, C] (the full masked
        model, for training and as the reference of sampling)."""
        x = self.embed(codes)
        for i, (same, dilation) in enumerate(zip(self.masked(), self.dilations, strict=True)):
            pre = x @ same + shift_in_time(x, dilation) @ self.past[i] + self.audio[i](audio_code)
            z = nn.leaky_relu(pre, SLOPE)
            x = z if i == 0 else x + z
        x = x.reshape(*x.shape[:-1], self.num_heads, self.dim)
        return jnp.einsum("bthd,hdc->bthc", x, self.out_kernel) + self.out_bias

    def sample(
        self, audio_code: jnp.ndarray, key: jax.Array, temperature: float = 1.0
    ) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Codes [B, T, H] int32 drawn frame by frame, head by head, from softmax(logits /
        temperature) (temperature 0: argmax), and the logits [B, T, H, C] they were drawn from."""
        b, t, _ = audio_code.shape
        h, d, n = self.num_heads, self.dim, len(self.dilations)
        masked = self.masked()
        audio_terms = jnp.stack([self.audio[i](audio_code) for i in range(n)], 2)  # [B,T,L,HD]
        history = jnp.zeros((max(self.dilations), n, b, h * d))  # newest first

        def frame(history, inputs):
            audio_t, index = inputs  # [B, L, H·D], scalar
            past = jnp.stack(
                [history[self.dilations[i] - 1, i] @ self.past[i] for i in range(n)]
            )  # [L, B, H·D]
            fixed = past + jnp.swapaxes(audio_t, 0, 1)
            frame_key = jax.random.fold_in(key, index)
            current, codes, logits = self._sample_heads(masked, fixed, frame_key, temperature, b)
            history = jnp.concatenate([current[None], history[:-1]])
            return history, (codes, logits)

        steps = (jnp.swapaxes(audio_terms, 0, 1), jnp.arange(t))
        _, (codes, logits) = jax.lax.scan(frame, history, steps)
        return jnp.swapaxes(codes, 0, 1), jnp.swapaxes(logits, 0, 1)

    def _sample_heads(self, masked, fixed, key, temperature: float, batch: int):
        """One frame: fixed [L, B, H·D] (past and audio terms) → (layer inputs [L, B, H·D],
        codes [B, H], logits [B, H, C])."""
        h, d, n = self.num_heads, self.dim, len(self.dilations)

        def head(index, carry):
            current, codes, logits = carry
            columns = index * d
            x = current[0]
            for i in range(n):
                weights = jax.lax.dynamic_slice_in_dim(masked[i], columns, d, axis=1)
                pre = x @ weights + jax.lax.dynamic_slice_in_dim(fixed[i], columns, d, axis=1)
                z = nn.leaky_relu(pre, SLOPE)
                if i > 0:
                    z = jax.lax.dynamic_slice_in_dim(x, columns, d, axis=1) + z
                if i + 1 < n:
                    current = current.at[i + 1].set(
                        jax.lax.dynamic_update_slice_in_dim(current[i + 1], z, columns, axis=1)
                    )
                    x = current[i + 1]
            head_logits = (
                z @ jnp.asarray(self.out_kernel)[index] + jnp.asarray(self.out_bias)[index]
            )  # [B, C]
            code = _draw(jax.random.fold_in(key, index), head_logits, temperature)
            embedded = jnp.asarray(self.embedding)[index, code]  # [B, D]
            current = current.at[0].set(
                jax.lax.dynamic_update_slice_in_dim(current[0], embedded, columns, axis=1)
            )
            codes = codes.at[:, index].set(code)
            logits = logits.at[:, index].set(head_logits)
            return current, codes, logits

        start = (
            jnp.zeros((n, batch, h * d)),
            jnp.zeros((batch, h), jnp.int32),
            jnp.zeros((batch, h, self.num_classes)),
        )
        return jax.lax.fori_loop(0, h, head, start)


def _draw(key: jax.Array, logits: jnp.ndarray, temperature: float) -> jnp.ndarray:
    """[B, C] logits → [B] int32 codes: categorical at `temperature`, argmax at 0."""
    if temperature <= 0:
        return jnp.argmax(logits, -1).astype(jnp.int32)
    return jax.random.categorical(key, logits / temperature).astype(jnp.int32)
