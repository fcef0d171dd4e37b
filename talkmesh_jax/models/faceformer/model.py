"""FaceFormer-style speech → landmark decoder over a Flax audio encoder (Whisper or conv).

Per video frame t the decoder sees the audio features aligned to it and its own previous output:
  input_t = Linear(previous target y_{t−1}; zeros at t = 0) + periodic positional encoding
  → [self-attention with the ALiBi-style biased causal mask → cross-attention to the audio with the
     alignment mask → feed-forward] × layers (post-norm, as torch's TransformerDecoderLayer)
  → Linear(feature_dim → D), initialised to zero.
Targets y are landmarks − reference face (`disp_close`, `disp_mean`) or landmarks (`pos`),
[B, T, V, 3] cm, and/or blendshape coefficients [B, T, K], as one vector of D values per frame
(`targets.TargetLayout`). Three ways to run the decoder, same parameters:
  teacher forcing   all frames in parallel from the true previous targets (training default);
  cached steps      one frame at a time with a key/value cache, O(T) (inference, AR training);
  recompute         the original procedure: the whole prefix re-run for every new frame, O(T²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import NUM_BLENDSHAPES
from talkmesh_jax.models.audio_encoder import (
    DTYPES,
    AudioEncoderConfig,
    build_audio_encoder,
    model_fields,
)
from talkmesh_jax.targets import TARGETS, TargetLayout

OUTPUT_TYPES = ("pos", "disp_close", "disp_mean")
NEG_INF = -1e9
RECOMPUTE_GROUPS = 16  # at most this many static prefix lengths in the original procedure
RECOMPUTE_MIN_GROUP = 8  # frames
SCAN_RNGS = {"params": False, "dropout": True}  # one set of weights, new dropout masks per frame


@dataclass(frozen=True)
class FaceFormerConfig:
    """Decoder options of the original (defaults: its defaults) and the audio encoder."""

    num_landmarks: int | None = 468  # None in a config: the dataset's (resolved in training)
    feature_dim: int = 64
    num_heads: int = 4
    num_layers: int = 1
    ffn_dim: int = 0  # 0: 2 × feature_dim
    period: int = 25
    align_window: int = 2
    output_type: str = "disp_close"
    dtype: str = "float32"
    dropout: float = 0.0  # torch's TransformerDecoderLayer places (and its default is 0.1)
    targets: str = "landmarks"  # landmarks | blendshapes | landmarks+blendshapes
    num_blendshapes: int = NUM_BLENDSHAPES
    audio_encoder: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)

    @classmethod
    def from_dict(cls, values: dict, source: str = "model") -> FaceFormerConfig:
        values, encoder = model_fields(cls, values, source)
        config = cls(audio_encoder=encoder, **values)
        if config.output_type not in OUTPUT_TYPES:
            raise TalkmeshError(f"{source}: output_type must be one of {OUTPUT_TYPES}")
        if config.num_landmarks is None:
            raise TalkmeshError(
                f"{source}.num_landmarks is unset (training sets it to the dataset's); set it to "
                "468 or 478 to build the model without a dataset"
            )
        if config.num_landmarks not in (468, 478):
            raise TalkmeshError(f"{source}: num_landmarks must be 468 or 478")
        if config.feature_dim % config.num_heads or config.feature_dim % 2:
            raise TalkmeshError(f"{source}: feature_dim must be even and divisible by num_heads")
        if not 0.0 <= config.dropout < 1.0:
            raise TalkmeshError(f"{source}: dropout must be in [0, 1), got {config.dropout}")
        if config.targets not in TARGETS:
            raise TalkmeshError(f"{source}: targets must be one of {TARGETS}")
        return config

    @property
    def layout(self) -> TargetLayout:
        """The parts of the predicted vector (landmarks and/or blendshapes)."""
        return TargetLayout.of(self.targets, self.num_landmarks, self.num_blendshapes)

    @property
    def encoder_steps_per_frame(self) -> int:
        """Audio feature positions per 25 fps frame: 2 for Whisper (50 Hz), 1 for conv."""
        return 2 if self.audio_encoder.kind == "whisper" else 1


def periodic_positional_encoding(num_frames: int, dim: int, period: int) -> np.ndarray:
    """[T, D] sinusoidal encoding of (t mod period), FaceFormer's PPE."""
    position = np.arange(period)[:, None]
    div = np.exp(np.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    table = np.zeros((period, dim), np.float32)
    table[:, 0::2] = np.sin(position * div)
    table[:, 1::2] = np.cos(position * div)
    return np.tile(table, (num_frames // period + 1, 1))[:num_frames]


def alibi_slopes(num_heads: int) -> np.ndarray:
    """[H] geometric slopes of ALiBi (as FaceFormer computes them, any head count)."""

    def power_of_two(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(num_heads).is_integer():
        return np.array(power_of_two(num_heads), np.float32)
    closest = 2 ** math.floor(math.log2(num_heads))
    extra = power_of_two(2 * closest)[0::2][: num_heads - closest]
    return np.array(power_of_two(closest) + extra, np.float32)


def biased_causal_bias(queries: jnp.ndarray, keys: jnp.ndarray, num_heads: int, period: int):
    """[H, Q, K] additive bias: −slope_h · ⌊(i − j) / period⌋ for j ≤ i, −∞ for j > i.

    queries [Q], keys [K] are absolute frame indices.
    """
    distance = queries[:, None] - keys[None, :]
    slopes = jnp.asarray(alibi_slopes(num_heads))[:, None, None]
    bias = -slopes * (jnp.maximum(distance, 0) // period)[None]
    return jnp.where(distance[None] >= 0, bias, NEG_INF)


def alignment_bias(queries: jnp.ndarray, num_keys: int, steps: int, window: int) -> jnp.ndarray:
    """[Q, K] additive bias: frame i attends audio positions [s·i − (w − s), s·i + s), s = steps."""
    keys = jnp.arange(num_keys)[None, :]
    start = steps * queries[:, None] - (window - steps)
    allowed = (keys >= start) & (keys < steps * queries[:, None] + steps)
    return jnp.where(allowed, 0.0, NEG_INF)


def training(module: nn.Module) -> bool:
    """Dropout is on when the caller passed a "dropout" rng (training steps), off otherwise."""
    return module.has_rng("dropout")


class Attention(nn.Module):
    """Multi-head attention with an additive bias [H or 1, Q, K]."""

    dim: int
    num_heads: int
    dtype: jnp.dtype = jnp.float32
    dropout: float = 0.0

    def setup(self):
        dense = {name: nn.Dense(self.dim, dtype=self.dtype) for name in ("query", "key", "value")}
        self.projections = dense
        self.out = nn.Dense(self.dim, dtype=self.dtype)
        self.drop = nn.Dropout(self.dropout)

    def project(self, x: jnp.ndarray, name: str) -> jnp.ndarray:
        y = self.projections[name](x)
        return y.reshape(*x.shape[:-1], self.num_heads, self.dim // self.num_heads)

    def attend(self, q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray, bias: jnp.ndarray):
        """q [B, Q, H, Dh], k/v [B, K, H, Dh] → [B, Q, D]."""
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
        weights = jax.nn.softmax(logits.astype(jnp.float32) + bias, axis=-1).astype(v.dtype)
        weights = self.drop(weights, deterministic=not training(self))
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v)
        out = out.reshape(*out.shape[:2], self.dim)
        return self.out(out)

    def __call__(self, x: jnp.ndarray, context: jnp.ndarray, bias: jnp.ndarray) -> jnp.ndarray:
        q = self.project(x, "query")
        return self.attend(q, self.project(context, "key"), self.project(context, "value"), bias)


class DecoderLayer(nn.Module):
    """Post-norm decoder layer: self-attention, cross-attention, ReLU feed-forward; dropout where
    torch's TransformerDecoderLayer has it (attention weights, each residual branch, inside the
    feed-forward), active only when a "dropout" rng is given."""

    dim: int
    num_heads: int
    ffn_dim: int
    dtype: jnp.dtype = jnp.float32
    dropout: float = 0.0

    def setup(self):
        self.self_attention = Attention(self.dim, self.num_heads, self.dtype, self.dropout)
        self.cross_attention = Attention(self.dim, self.num_heads, self.dtype, self.dropout)
        self.ffn_in = nn.Dense(self.ffn_dim, dtype=self.dtype)
        self.ffn_out = nn.Dense(self.dim, dtype=self.dtype)
        self.norms = [nn.LayerNorm(dtype=self.dtype) for _ in range(3)]
        self.drop = nn.Dropout(self.dropout)

    def _drop(self, x: jnp.ndarray) -> jnp.ndarray:
        return self.drop(x, deterministic=not training(self))

    def rest(self, x: jnp.ndarray, memory: jnp.ndarray, cross_bias: jnp.ndarray) -> jnp.ndarray:
        """Everything after self-attention (its residual and norm already applied)."""
        x = self.norms[1](x + self._drop(self.cross_attention(x, memory, cross_bias[None])))
        hidden = self._drop(nn.relu(self.ffn_in(x)))
        return self.norms[2](x + self._drop(self.ffn_out(hidden)))

    def __call__(self, x, memory, self_bias, cross_bias):
        x = self.norms[0](x + self._drop(self.self_attention(x, x, self_bias)))
        return self.rest(x, memory, cross_bias)

    def step(self, x, memory, cache_k, cache_v, frame, self_bias, cross_bias):
        """One frame: x [B, 1, D]; cache [B, T, H, Dh] holds keys/values of earlier frames."""
        attention = self.self_attention
        k = attention.project(x, "key")
        v = attention.project(x, "value")
        cache_k = jax.lax.dynamic_update_slice_in_dim(cache_k, k, frame, axis=1)
        cache_v = jax.lax.dynamic_update_slice_in_dim(cache_v, v, frame, axis=1)
        y = attention.attend(attention.project(x, "query"), cache_k, cache_v, self_bias)
        return self.rest(self.norms[0](x + self._drop(y)), memory, cross_bias), cache_k, cache_v


class FaceFormer(nn.Module):
    """audio [B, S] 16 kHz + targets → predicted targets [B, T, D] (see module docstring)."""

    config: FaceFormerConfig

    def setup(self):
        c = self.config
        dtype = DTYPES[c.dtype]
        self.audio_encoder, _ = build_audio_encoder(c.audio_encoder, load_weights=False)
        self.audio_projection = nn.Dense(c.feature_dim, dtype=dtype)
        self.target_embedding = nn.Dense(c.feature_dim, dtype=dtype)
        ffn = c.ffn_dim or 2 * c.feature_dim
        self.layers = [
            DecoderLayer(c.feature_dim, c.num_heads, ffn, dtype, c.dropout)
            for _ in range(c.num_layers)
        ]
        self.output = nn.Dense(c.layout.dim, kernel_init=nn.initializers.zeros, dtype=jnp.float32)

    def encode(self, audio: jnp.ndarray) -> jnp.ndarray:
        """audio [B, S] → memory [B, M, F] (M = 2 per frame for Whisper, 1 for conv; F =
        feature_dim)."""
        return self.audio_projection(self.audio_encoder(audio))

    def _inputs(self, previous: jnp.ndarray, frames: jnp.ndarray) -> jnp.ndarray:
        """previous targets [B, Q, D] at absolute frames [Q] → decoder inputs [B, Q, F]."""
        c = self.config
        table = jnp.asarray(periodic_positional_encoding(c.period, c.feature_dim, c.period))
        return self.target_embedding(previous) + table[frames % c.period]

    def _biases(self, queries: jnp.ndarray, keys: jnp.ndarray, memory_length: int):
        c = self.config
        self_bias = biased_causal_bias(queries, keys, c.num_heads, c.period)
        cross = alignment_bias(queries, memory_length, c.encoder_steps_per_frame, c.align_window)
        return self_bias, cross

    def decode(self, memory: jnp.ndarray, previous: jnp.ndarray) -> jnp.ndarray:
        """Teacher forcing: previous [B, T, D] (targets shifted right) → [B, T, D]."""
        frames = jnp.arange(previous.shape[1])
        self_bias, cross_bias = self._biases(frames, frames, memory.shape[1])
        x = self._inputs(previous, frames)
        for layer in self.layers:
            x = layer(x, memory, self_bias, cross_bias)
        return self.output(x.astype(jnp.float32))

    def __call__(self, audio: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
        """Teacher-forced predictions: audio [B, S], targets [B, T, D] → [B, T, D]."""
        previous = jnp.pad(targets[:, :-1], ((0, 0), (1, 0), (0, 0)))
        return self.decode(self.encode(audio), previous)

    def init_cache(self, batch: int, num_frames: int) -> list[tuple[jnp.ndarray, jnp.ndarray]]:
        c = self.config
        shape = (batch, num_frames, c.num_heads, c.feature_dim // c.num_heads)
        dtype = DTYPES[c.dtype]
        return [(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(c.num_layers)]

    def decode_step(self, memory, previous, cache, frame):
        """One frame with the key/value cache: previous [B, D] → ([B, D], new cache)."""
        num_frames = cache[0][0].shape[1]
        query = jnp.reshape(frame, (1,))
        self_bias, cross_bias = self._biases(query, jnp.arange(num_frames), memory.shape[1])
        x = self._inputs(previous[:, None], query)
        new_cache = []
        for layer, (k, v) in zip(self.layers, cache, strict=True):
            x, k, v = layer.step(x, memory, k, v, frame, self_bias, cross_bias)
            new_cache.append((k, v))
        return self.output(x.astype(jnp.float32))[:, 0], new_cache

    def generate(
        self, audio: jnp.ndarray, num_frames: int, checkpoint_chunk: int = 0
    ) -> jnp.ndarray:
        """Autoregressive with the key/value cache: audio [B, S] → [B, T, D], O(T) steps (see
        `decode_cached` for `checkpoint_chunk`)."""
        return self.decode_cached(self.encode(audio), num_frames, checkpoint_chunk)

    def decode_cached(
        self, memory: jnp.ndarray, num_frames: int, checkpoint_chunk: int = 0
    ) -> jnp.ndarray:
        """memory [B, M, F] → [B, T, D], one decoder step per frame with the cache.

        For training through it (autoregressive mode) `checkpoint_chunk` C > 0 runs the frames in
        chunks of C and rematerialises each chunk in the backward pass: the gradient then keeps
        the cache at chunk boundaries and within one chunk, about (T/C + C) caches of [B, T, …]
        instead of one per frame (T) — O(T^1.5) memory instead of O(T²) for C ≈ √T. The frames
        are padded to a multiple of C (later frames cannot influence earlier ones)."""
        batch = memory.shape[0]

        def step(module, carry, frame):
            previous, cache = carry
            output, cache = module.decode_step(memory, previous, cache, frame)
            return (output, cache), output

        start = jnp.zeros((batch, self.config.layout.dim), jnp.float32)
        scan = nn.scan(step, variable_broadcast="params", split_rngs=SCAN_RNGS)
        if checkpoint_chunk <= 0:
            carry = (start, self.init_cache(batch, num_frames))
            _, outputs = scan(self, carry, jnp.arange(num_frames))
            return jnp.swapaxes(outputs, 0, 1)
        chunks = -(-num_frames // checkpoint_chunk)
        frames = jnp.arange(chunks * checkpoint_chunk).reshape(chunks, checkpoint_chunk)
        chunk = nn.remat(lambda module, carry, frames: scan(module, carry, frames))
        outer = nn.scan(chunk, variable_broadcast="params", split_rngs=SCAN_RNGS)
        carry = (start, self.init_cache(batch, chunks * checkpoint_chunk))
        _, outputs = outer(self, carry, frames)  # [chunks, C, B, D]
        outputs = outputs.reshape(chunks * checkpoint_chunk, batch, -1)[:num_frames]
        return jnp.swapaxes(outputs, 0, 1)

    def generate_recompute(self, audio: jnp.ndarray, num_frames: int) -> jnp.ndarray:
        """The original procedure on audio [B, S]; see `decode_recompute`."""
        return self.decode_recompute(self.encode(audio), num_frames)

    def decode_recompute(self, memory: jnp.ndarray, num_frames: int) -> jnp.ndarray:
        """The original procedure: for every frame, re-run the decoder over the whole prefix.

        memory [B, M, F] → [B, T, D]. Frames are taken in groups of G = max(RECOMPUTE_MIN_GROUP,
        ⌈T / RECOMPUTE_GROUPS⌉); within a group every step re-runs the decoder over the prefix up
        to the group's end (a static length; later positions cannot influence earlier ones under
        the causal mask), so a step costs at most t + G frames where the original's costs t.
        """
        outputs = jnp.zeros((memory.shape[0], num_frames, self.config.layout.dim))
        group = max(RECOMPUTE_MIN_GROUP, -(-num_frames // RECOMPUTE_GROUPS))
        for start in range(0, num_frames, group):
            stop = min(start + group, num_frames)

            def step(module, outputs, frame, stop=stop):
                previous = jnp.pad(outputs[:, : stop - 1], ((0, 0), (1, 0), (0, 0)))
                new = module.decode(memory, previous)[:, frame]
                return jax.lax.dynamic_update_slice_in_dim(outputs, new[:, None], frame, 1), None

            scan = nn.scan(step, variable_broadcast="params", split_rngs=SCAN_RNGS)
            outputs, _ = scan(self, outputs, jnp.arange(start, stop))
        return outputs
