"""Whisper's audio encoder in Flax (Linen), with the layout of Hugging Face checkpoints.

Architecture (any size, from the checkpoint's config.json): conv k3 + GELU, conv k3 stride 2 +
GELU (two log-mel frames per position, 50 positions/s), learned positional embeddings,
pre-LayerNorm transformer blocks, a final LayerNorm. Parameters keep float32; `dtype` sets the
compute precision (float32 or bfloat16). Weight loading lives in `weights.py`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.whisper.attention import attention
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram

LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class WhisperEncoderConfig:
    """The encoder half of a Hugging Face `WhisperConfig` (same field names)."""

    num_mel_bins: int = 80
    d_model: int = 384
    encoder_layers: int = 4
    encoder_attention_heads: int = 6
    encoder_ffn_dim: int = 1536
    max_source_positions: int = 1500

    @classmethod
    def from_hf(cls, config: dict, source: str = "config.json") -> WhisperEncoderConfig:
        """From a checkpoint's config.json; errors name the file and the field."""
        if config.get("model_type", "whisper") != "whisper":
            raise TalkmeshError(f"{source}: model_type is {config['model_type']!r}, not 'whisper'")
        activation = config.get("activation_function", "gelu")
        if activation != "gelu":
            raise TalkmeshError(f"{source}: activation_function {activation!r} is not supported")
        values = {}
        for field in fields(cls):
            if field.name not in config:
                raise TalkmeshError(f"{source}: missing field {field.name!r}")
            values[field.name] = int(config[field.name])
        return cls(**values)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def head_dim(self) -> int:
        return self.d_model // self.encoder_attention_heads


# Architecture sizes of the released checkpoints (OpenAI Whisper on the Hugging Face hub).
WHISPER_SIZES = {
    "tiny": WhisperEncoderConfig(80, 384, 4, 6, 1536),
    "base": WhisperEncoderConfig(80, 512, 6, 8, 2048),
    "small": WhisperEncoderConfig(80, 768, 12, 12, 3072),
    "medium": WhisperEncoderConfig(80, 1024, 24, 16, 4096),
    "large-v3": WhisperEncoderConfig(128, 1280, 32, 20, 5120),
}


def sinusoids(length: int, channels: int) -> np.ndarray:
    """[length, channels] Whisper's initial positional embeddings (checkpoints overwrite them)."""
    increment = np.log(10000) / (channels // 2 - 1)
    inv_timescales = np.exp(-increment * np.arange(channels // 2))
    scaled = np.arange(length)[:, None] * inv_timescales[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


class SelfAttention(nn.Module):
    config: WhisperEncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        """[B, T, D] → [B, T, D], bidirectional."""
        c = self.config
        heads, head_dim = c.encoder_attention_heads, c.head_dim

        def project(name: str, bias: bool = True) -> jnp.ndarray:
            y = nn.Dense(c.d_model, use_bias=bias, dtype=self.dtype, name=name)(x)
            return y.reshape(*y.shape[:2], heads, head_dim)

        q, k, v = project("q_proj"), project("k_proj", bias=False), project("v_proj")
        y = attention(q, k, v, head_dim**-0.5)
        y = y.reshape(*y.shape[:2], c.d_model)
        return nn.Dense(c.d_model, dtype=self.dtype, name="out_proj")(y)


class EncoderLayer(nn.Module):
    config: WhisperEncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        c = self.config
        norm = dict(epsilon=LAYER_NORM_EPS, dtype=self.dtype)
        h = nn.LayerNorm(name="self_attn_layer_norm", **norm)(x)
        x = x + SelfAttention(c, self.dtype, name="self_attn")(h)
        h = nn.LayerNorm(name="final_layer_norm", **norm)(x)
        h = nn.gelu(nn.Dense(c.encoder_ffn_dim, dtype=self.dtype, name="fc1")(h), approximate=False)
        return x + nn.Dense(c.d_model, dtype=self.dtype, name="fc2")(h)


class WhisperEncoder(nn.Module):
    """Log-mel [B, T, num_mel_bins] → hidden states [B, ceil(T / 2), d_model]."""

    config: WhisperEncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, mel: jnp.ndarray) -> jnp.ndarray:
        c = self.config
        positions = (mel.shape[1] + 1) // 2
        if positions > c.max_source_positions:
            raise ValueError(
                f"{mel.shape[1]} log-mel frames need {positions} positions, the encoder has "
                f"{c.max_source_positions} (30 s)"
            )
        x = mel.astype(self.dtype)
        x = nn.gelu(
            nn.Conv(c.d_model, (3,), padding=[(1, 1)], dtype=self.dtype, name="conv1")(x),
            approximate=False,
        )
        x = nn.Conv(
            c.d_model, (3,), strides=(2,), padding=[(1, 1)], dtype=self.dtype, name="conv2"
        )(x)
        x = nn.gelu(x, approximate=False)
        embed = self.param(
            "embed_positions",
            lambda _, shape: jnp.asarray(sinusoids(*shape)),
            (c.max_source_positions, c.d_model),
        )
        x = x + embed[:positions].astype(self.dtype)
        for i in range(c.encoder_layers):
            x = EncoderLayer(c, self.dtype, name=f"layers_{i}")(x)
        return nn.LayerNorm(epsilon=LAYER_NORM_EPS, dtype=self.dtype, name="layer_norm")(x)


DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}  # config name → compute dtype
CONTEXTS = ("window", "padded", "chunked", "trailing")
FEATURE_CONTEXTS = ("chunked", "trailing")  # encoded before the model: it takes features


def encoder_flops(config: WhisperEncoderConfig, mel_frames: int) -> float:
    """Forward FLOPs of the encoder for one example of `mel_frames` log-mel frames."""
    d, f, t = config.d_model, config.encoder_ffn_dim, (mel_frames + 1) // 2
    convs = 2 * 3 * config.num_mel_bins * d * mel_frames + 2 * 3 * d * d * t
    per_layer = 2 * t * (4 * d * d + 2 * d * f) + 2 * 2 * t * t * d
    return float(convs + config.encoder_layers * per_layer)


def audio_positions(num_samples: int) -> int:
    """Encoder positions of `num_samples` samples of audio: ceil(S / 320) (50 per second)."""
    return (num_samples // 160 + 1) // 2


class WhisperAudioEncoder(nn.Module):
    """Raw audio → Whisper features: the log-mel runs on the device, then the encoder.

    `context` says what the encoder sees (see docs/ARCHITECTURE.md, "Whisper's context"):
      window   audio [B, S] float32 16 kHz: only the given audio is encoded;
      padded   the same audio padded to 30 s, as the original project did (positions of the real
               audio kept);
      chunked  the input already is features [B, M, d_model], encoded beforehand in Whisper's own
               30 s chunks over the whole clip (`whisper/context.ChunkedWhisper`; training reads
               them from the feature cache): they pass through unchanged, and the encoder's
               parameters are only created (so a run keeps them for inference);
      trailing the same, features of the streaming context (`whisper/trailing.TrailingWhisper`:
               each hop of frames encoded with the audio just before it and a short look-ahead).
    Output [B, ceil(S / 320), d_model] (50 positions/s, two per 25 fps video frame), or [B, M, D]
    for `chunked`. `frozen` stops gradients into the encoder. `gate_dbfs`: the log-mel's noise
    gate (`log_mel.log_mel_spectrogram`; None: Whisper's own front end).
    """

    config: WhisperEncoderConfig
    context: str = "window"
    frozen: bool = True
    dtype: jnp.dtype = jnp.float32
    gate_dbfs: float | None = None

    @nn.compact
    def __call__(self, audio: jnp.ndarray) -> jnp.ndarray:
        encoder = WhisperEncoder(self.config, self.dtype, name="encoder")
        if self.context in FEATURE_CONTEXTS:
            if self.is_initializing():
                encoder(jnp.zeros((1, 2, self.config.num_mel_bins), jnp.float32))
            return jax.lax.stop_gradient(audio)
        keep = audio_positions(audio.shape[1])
        padding = WHISPER_SAMPLES if self.context == "padded" else None
        mel = log_mel_spectrogram(audio, self.config.num_mel_bins, padding, self.gate_dbfs)
        features = encoder(mel)[:, :keep]
        return jax.lax.stop_gradient(features) if self.frozen else features
