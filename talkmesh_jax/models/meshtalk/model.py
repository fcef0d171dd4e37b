"""MeshTalk (Richard et al. 2021) in Flax: a categorical latent face space that separates what
audio decides from what it does not, and an autoregressive prior over it (`prior.py`).

Per frame t, for vertices x_t [V·3] (displacements from the template, cm, normalised per vertex
with the training data's mean and std) and audio a (16 kHz):
  audio encoder (light conv or Whisper, by config) → a_t [F]
  expression encoder: MLP → LSTM → e_t [F]
  fusion: MLP(concat(e_t, a_t)) → logits [H, C] (H heads of C classes)
  code: Gumbel-softmax with a straight-through one-hot (temperature τ) in training; at inference
        codes sampled from the context model given the audio alone
  decoder: template → MLP encoder (its two layers feed the decoder as skips); code → Dense + the
        template's features → LSTM → MLP with skip connections → V·3 + a per-vertex bias →
        de-normalised displacement [V·3] cm.
The data statistics (template, per-vertex mean and std, region weights) are variables of the
model ("statistics", never trained), so a run's inference parameters are all inference needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flax.linen as nn
import jax
import jax.numpy as jnp

from talkmesh_jax import TalkmeshError
from talkmesh_jax.models.audio_encoder import (
    AudioEncoderConfig,
    build_audio_encoder,
    model_fields,
)
from talkmesh_jax.models.meshtalk.prior import DILATIONS, ContextModel
from talkmesh_jax.regions import REGIONS

SLOPE = 0.2


@dataclass(frozen=True)
class MeshTalkConfig:
    """Sizes of the model (defaults: MeshTalk's H = 64 heads of C = 128 classes)."""

    num_vertices: int = 478
    feature_dim: int = 128
    num_heads: int = 64
    num_classes: int = 128
    context_dim: int = 16  # context model features per head
    dilations: tuple[int, ...] = DILATIONS
    audio_encoder: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)

    @classmethod
    def from_dict(cls, values: dict, source: str = "model.meshtalk") -> MeshTalkConfig:
        values, encoder = model_fields(cls, values, source)
        values["dilations"] = tuple(values.get("dilations", DILATIONS))
        config = cls(audio_encoder=encoder, **values)
        for name in ("num_vertices", "feature_dim", "num_heads", "num_classes", "context_dim"):
            if int(getattr(config, name)) < 1:
                raise TalkmeshError(f"{source}: {name} must be positive")
        return config


class Statistics(nn.Module):
    """The training data's template [V·3] cm, per-vertex displacement mean and std [V·3] cm and
    region weights [V] (set from the data after init; never trained)."""

    num_vertices: int

    @nn.compact
    def __call__(self) -> dict[str, jnp.ndarray]:
        width = 3 * self.num_vertices
        ones, zeros = nn.initializers.ones, nn.initializers.zeros
        out = {
            "template": self.param("template", zeros, (width,)),
            "mean": self.param("mean", zeros, (width,)),
            "std": self.param("std", ones, (width,)),
        }
        for name in REGIONS:
            out[name] = self.param(name, ones, (self.num_vertices,))
        return out


class ExpressionEncoder(nn.Module):
    """Normalised vertices [B, T, V·3] → [B, T, F] (MLP, then an LSTM over time)."""

    features: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        h = nn.leaky_relu(nn.Dense(self.features)(x), SLOPE)
        h = nn.leaky_relu(nn.Dense(self.features)(h), SLOPE)
        return nn.RNN(nn.OptimizedLSTMCell(self.features))(h)


class Fusion(nn.Module):
    """(expression [B, T, F], audio [B, T, F]) → logits [B, T, H, C] (log-softmax)."""

    features: int
    num_heads: int
    num_classes: int

    @nn.compact
    def __call__(self, expression: jnp.ndarray, audio: jnp.ndarray) -> jnp.ndarray:
        h = nn.leaky_relu(nn.Dense(self.features)(jnp.concatenate([expression, audio], -1)), SLOPE)
        h = nn.leaky_relu(nn.Dense(self.features)(h), SLOPE)
        logits = nn.Dense(self.num_heads * self.num_classes)(h)
        logits = logits.reshape(*logits.shape[:-1], self.num_heads, self.num_classes)
        return jax.nn.log_softmax(logits, -1)


class Decoder(nn.Module):
    """(one-hot codes [B, T, H, C], normalised template [V·3]) → normalised displacements
    [B, T, V·3]."""

    features: int
    num_vertices: int

    @nn.compact
    def __call__(self, codes: jnp.ndarray, template: jnp.ndarray) -> jnp.ndarray:
        width = 3 * self.num_vertices
        skip_1 = nn.leaky_relu(nn.Dense(self.features, name="template_1")(template), SLOPE)
        skip_2 = nn.leaky_relu(nn.Dense(self.features, name="template_2")(skip_1), SLOPE)
        flat = codes.reshape(*codes.shape[:2], -1)
        h = nn.Dense(self.features, name="code")(flat) + skip_2
        h = nn.RNN(nn.OptimizedLSTMCell(self.features), name="lstm")(h)
        h = nn.leaky_relu(nn.Dense(self.features, name="hidden_1")(h) + skip_2, SLOPE)
        h = nn.leaky_relu(nn.Dense(self.features, name="hidden_2")(h) + skip_1, SLOPE)
        out = nn.Dense(width, name="output", kernel_init=nn.initializers.normal(1e-3))(h)
        return out + self.param("vertex_bias", nn.initializers.zeros, (width,))


class MeshTalk(nn.Module):
    """The whole model; methods for each part (see the module docstring)."""

    config: MeshTalkConfig

    def setup(self):
        c = self.config
        self.audio_encoder, _ = build_audio_encoder(c.audio_encoder, load_weights=False)
        self.audio_projection = nn.Dense(c.feature_dim)
        self.expression_encoder = ExpressionEncoder(c.feature_dim)
        self.fusion = Fusion(c.feature_dim, c.num_heads, c.num_classes)
        self.decoder = Decoder(c.feature_dim, c.num_vertices)
        self.context = ContextModel(c.num_heads, c.num_classes, c.context_dim, c.dilations)
        self.statistics = Statistics(c.num_vertices)

    def stats(self) -> dict[str, jnp.ndarray]:
        return self.statistics()

    def audio_code(self, audio: jnp.ndarray, frames: int) -> jnp.ndarray:
        """audio [B, frames·640] → [B, frames, F] (Whisper's 50 Hz positions taken in pairs)."""
        features = self.audio_encoder(audio)
        features = features.reshape(features.shape[0], frames, -1)
        return self.audio_projection(features)

    def normalise(self, displacement: jnp.ndarray) -> jnp.ndarray:
        s = self.stats()
        return (displacement - s["mean"]) / s["std"]

    def encode(
        self, displacement: jnp.ndarray, audio_code: jnp.ndarray, mask: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        """Displacements [B, T, V·3] cm + audio code [B, T, F] → logits [B, T, H, C]. `mask`
        [B, T] (1 = valid): an invalid frame's geometry never reaches the encoder — its
        normalised input is 0, the training data's mean face."""
        normalised = self.normalise(displacement)
        if mask is not None:
            normalised = normalised * mask[..., None].astype(normalised.dtype)
        return self.fusion(self.expression_encoder(normalised), audio_code)

    def decode(self, one_hot: jnp.ndarray) -> jnp.ndarray:
        """One-hot codes [B, T, H, C] → displacements [B, T, V·3] cm."""
        s = self.stats()
        template = s["template"] - s["template"].mean()
        # sqrt(var + ε): a finite gradient for a constant template (the zeros of a model
        # initialised without data), where jnp.std's is NaN
        template = template / (jnp.sqrt(jnp.var(template) + 1e-12) + 1e-6)
        return self.decoder(one_hot, template) * s["std"] + s["mean"]

    def context_logits(self, codes: jnp.ndarray, audio_code: jnp.ndarray) -> jnp.ndarray:
        return self.context(codes, audio_code)

    def sample(self, audio: jnp.ndarray, frames: int, key, temperature: float = 1.0):
        """Audio [B, frames·640] → (displacements [B, frames, V·3] cm, codes [B, frames, H])."""
        codes, _ = self.context.sample(self.audio_code(audio, frames), key, temperature)
        one_hot = jax.nn.one_hot(codes, self.config.num_classes)
        return self.decode(one_hot), codes

    def __call__(self, audio: jnp.ndarray, displacement: jnp.ndarray) -> jnp.ndarray:
        """Initialises every part: reconstruction [B, T, V·3] through the argmax code."""
        frames = displacement.shape[1]
        audio_code = self.audio_code(audio, frames)
        logits = self.encode(displacement, audio_code)
        codes = jnp.argmax(logits, -1)
        self.context_logits(codes, audio_code)
        return self.decode(jax.nn.one_hot(codes, self.config.num_classes))


def gumbel_straight_through(key: jax.Array, logits: jnp.ndarray, tau: float) -> jnp.ndarray:
    """[..., C] logits → one-hot of argmax(logits + Gumbel noise) forward, the gradient of
    softmax((logits + noise) / τ) backward."""
    noisy = logits + jax.random.gumbel(key, logits.shape)
    soft = jax.nn.softmax(noisy / tau, -1)
    hard = jax.nn.one_hot(jnp.argmax(noisy, -1), logits.shape[-1])
    return hard + soft - jax.lax.stop_gradient(soft)
