"""The FaceFormer-style regression model as a model family.

Loss: weighted squared error of the predicted target vectors (`targets.py`: landmark MSE plus
`blendshape_weight` × blendshape MSE) over valid frames, the decoder teacher-forced, fed back on
itself with the key/value cache (autoregressive), or re-run on its prefix per frame (the
original's procedure). One training stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import jax.numpy as jnp
import ml_collections

from talkmesh_jax.config import config_to_dict
from talkmesh_jax.models.faceformer.model import FaceFormer, FaceFormerConfig
from talkmesh_jax.models.family import ModelFamily, Stage
from talkmesh_jax.targets import TargetLayout, make_targets

MODES = ("teacher_forcing", "autoregressive", "original_procedure")
FAMILY_KEYS = ("family", "meshtalk")  # model.* keys that are not FaceFormer's


def targets_and_mask(batch: dict, reference, fill_invalid: str, layout: TargetLayout):
    """A batch → (targets [B, T, D], mask [B, T]); landmarks are measured from reference [V, 3].

    Invalid frames get zero targets (the reference face, zero blendshapes); with
    fill_invalid == "reference" they also count in the loss, as the original did.
    """
    targets = make_targets(batch, reference, layout, xp=jnp)
    mask = batch["mask"].astype(jnp.float32)
    if fill_invalid == "reference":
        mask = jnp.ones_like(mask)
    return targets, mask


def checkpoint_chunk(num_frames: int, setting: int) -> int:
    """Frames per rematerialised chunk of autoregressive training: `setting` (0: off), or, when
    it is −1, ⌈√T⌉ (the memory optimum)."""
    return math.ceil(math.sqrt(num_frames)) if setting < 0 else setting


def masked_error_sum(predictions, targets, mask, weights) -> jnp.ndarray:
    """Sum over valid frames (mask [B, T]) of the weighted squared error; weights [D]
    (`TargetLayout.weights`)."""
    squared = jnp.sum(weights * (predictions - targets) ** 2, axis=-1)
    return jnp.sum(squared * mask)


@dataclass(frozen=True)
class FaceFormerFamily(ModelFamily):
    """model: the Flax module; training options: how the decoder runs in the loss (`mode`),
    invalid frames, the blendshape weight, rematerialisation, dropout and the step count."""

    model: FaceFormer
    mode: str = "teacher_forcing"
    fill_invalid: str = "mask"
    blendshape_weight: float = 1.0
    remat_frames: int = -1
    steps: int = 1
    name = "faceformer"

    @classmethod
    def from_config(cls, config: ml_collections.ConfigDict) -> FaceFormerFamily:
        values = {k: v for k, v in config_to_dict(config.model).items() if k not in FAMILY_KEYS}
        model = FaceFormer(FaceFormerConfig.from_dict(values))
        train = config.train
        return cls(
            model,
            mode=train.mode,
            fill_invalid=config.data.fill_invalid,
            blendshape_weight=float(train.blendshape_weight),
            remat_frames=int(train.remat_frames),
            steps=int(train.steps),
        )

    def with_mode(self, mode: str, remat_frames: int | None = None) -> FaceFormerFamily:
        """The same model trained another way (benchmarks time every mode)."""
        remat = self.remat_frames if remat_frames is None else remat_frames
        return replace(self, mode=mode, remat_frames=remat)

    @property
    def config(self) -> FaceFormerConfig:
        return self.model.config

    @property
    def layout(self) -> TargetLayout:
        return self.model.config.layout

    @property
    def audio_encoder_config(self):
        return self.config.audio_encoder

    def stages(self) -> list[Stage]:
        return [Stage("model", 0, self.steps)]

    def init(self, key, window_frames: int):
        return self.model.init(key, *self.example_inputs(window_frames))

    def predict(self, params, audio, targets, key=None) -> jnp.ndarray:
        """[B, T, D] predictions in the training `mode`, dropout on when `key` is given."""
        rngs = {"dropout": key} if key is not None else {}
        if self.mode == "teacher_forcing":
            return self.model.apply(params, audio, targets, rngs=rngs)
        frames = targets.shape[1]
        if self.mode == "autoregressive":
            chunk = checkpoint_chunk(frames, self.remat_frames)
            method = FaceFormer.generate
            return self.model.apply(params, audio, frames, chunk, method=method, rngs=rngs)
        method = FaceFormer.generate_recompute
        return self.model.apply(params, audio, frames, method=method, rngs=rngs)

    def loss(self, params, batch, reference, step, key):
        layout = self.layout
        targets, mask = targets_and_mask(batch, reference, self.fill_invalid, layout)
        weights = jnp.asarray(layout.weights(self.blendshape_weight))
        key = key if self.config.dropout > 0 else None
        predictions = self.predict(params, batch["audio"], targets, key)
        return masked_error_sum(predictions, targets, mask, weights), jnp.sum(mask)

    def generate(self, variables, audio, frames: int, key=None, temperature: float = 1.0):
        return self.model.apply(variables, audio, frames, method=FaceFormer.generate)

    def generate_recompute(self, variables, audio, frames: int):
        """The original's O(T²) decoding (benchmarks compare it with `generate`)."""
        return self.model.apply(variables, audio, frames, method=FaceFormer.generate_recompute)
