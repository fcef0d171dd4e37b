"""MeshTalk as a model family: two training stages in one run, sampling at inference.

Stage 1 (steps 1 … train.steps) trains the autoencoder (audio and expression encoders, fusion,
decoder) with, per valid frame (squared errors in cm², each the weighted mean over its region's
vertices):
  recon_weight   × error of the reconstruction, all vertices
  eyelid_weight  × error of the reconstruction on the eyelids
  mouth_weight   × mouth error (weighted mouth region) when the expression input comes from
                   another sequence (the batch rolled by one; the window's other half when a
                   device holds one sequence) — the mouth must follow the audio
  upper_weight   × upper-face error when the audio comes from another sequence — the upper face
                   must follow the expression input
An invalid frame reaches the expression encoder as the data's mean face (normalised input 0,
`MeshTalk.encode`'s mask), never as its zeroed landmarks, in every pass here; its errors do not
count. The eyelid term's default weight is 10: blinks are a few percent of the frames, and at 1
the reconstruction averaged them away.
Stage 2 (the next meshtalk.context_steps steps) trains the context model alone, with the
negative log-likelihood of the argmax codes of the frozen stage-1 encoder, per head and frame.
Inference samples codes from the context model given the audio, then decodes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.config import config_to_dict
from talkmesh_jax.models.family import ModelFamily, Stage
from talkmesh_jax.models.meshtalk.model import MeshTalk, MeshTalkConfig, gumbel_straight_through
from talkmesh_jax.regions import REGIONS
from talkmesh_jax.targets import TargetLayout

STAGE_ONE = ("audio_encoder", "audio_projection", "expression_encoder", "fusion", "decoder")
LOSS_KEYS = ("recon_weight", "eyelid_weight", "mouth_weight", "upper_weight")
TRAINING_KEYS = ("context_steps", "context_learning_rate", "gumbel_temperature", *LOSS_KEYS)
MIN_STD_FRACTION = 0.05  # per-vertex std floor, as a fraction of the median std


@dataclass(frozen=True)
class MeshTalkFamily(ModelFamily):
    model: MeshTalk
    steps: int = 1  # stage 1
    context_steps: int = 1  # stage 2
    context_learning_rate: float | None = None
    gumbel_temperature: float = 1.0
    recon_weight: float = 1.0
    eyelid_weight: float = 10.0
    mouth_weight: float = 1.0
    upper_weight: float = 1.0
    name = "meshtalk"

    @classmethod
    def from_config(cls, config: ml_collections.ConfigDict) -> MeshTalkFamily:
        section = dict(config_to_dict(config.model.meshtalk))
        training = {k: section.pop(k) for k in TRAINING_KEYS if k in section}
        if config.model.num_landmarks is None:
            raise TalkmeshError(
                "model.num_landmarks is unset (training sets it to the dataset's vertex count)"
            )
        if config.model.targets != "landmarks":
            raise TalkmeshError("model.family=meshtalk predicts vertices: model.targets=landmarks")
        if config.model.output_type == "pos":
            raise TalkmeshError("model.family=meshtalk needs a template: a disp_* output_type")
        model_config = MeshTalkConfig.from_dict(
            {
                **section,
                "num_vertices": int(config.model.num_landmarks),
                "audio_encoder": config_to_dict(config.model.audio_encoder),
            }
        )
        if training.get("context_learning_rate") is not None:
            training["context_learning_rate"] = float(training["context_learning_rate"])
        return cls(MeshTalk(model_config), steps=int(config.train.steps), **training)

    @property
    def config(self) -> MeshTalkConfig:
        return self.model.config

    @property
    def layout(self) -> TargetLayout:
        return TargetLayout(self.config.num_vertices, 0)

    @property
    def samples(self) -> bool:
        return True

    @property
    def audio_encoder_config(self):
        return self.config.audio_encoder

    @property
    def frozen(self) -> tuple[str, ...]:
        return ("statistics", *super().frozen)

    def stages(self) -> list[Stage]:
        return [
            Stage("autoencoder", 0, self.steps, STAGE_ONE),
            Stage(
                "context", self.steps, self.context_steps, ("context",), self.context_learning_rate
            ),
        ]

    def init(self, key, window_frames: int):
        return self.model.init(key, *self.example_inputs(window_frames))

    def fit_statistics(self, variables, data):
        if data is None:
            return variables
        stats = dataset_statistics(data.train, data.reference, data.regions)
        params = dict(variables["params"])
        params["statistics"] = {k: np.asarray(v, np.float32) for k, v in stats.items()}
        return {**variables, "params": params}

    # -- training --------------------------------------------------------------------------

    def loss(self, params, batch, reference, step, key):
        frames = batch["mask"].shape[1]
        displacement = (batch["landmarks"] - reference).reshape(*batch["mask"].shape, -1)
        mask = batch["mask"].astype(jnp.float32)
        return jax.lax.cond(
            step < self.steps,
            lambda: self._autoencoder_loss(params, batch["audio"], displacement, mask, key),
            lambda: self._context_loss(params, batch["audio"], displacement, mask, frames),
        )

    def _apply(self, params, *args, method):
        return self.model.apply(params, *args, method=method)

    def _autoencoder_loss(self, params, audio, displacement, mask, key):
        frames = displacement.shape[1]
        stats = self._apply(params, method=MeshTalk.stats)
        audio_code = self._apply(params, audio, frames, method=MeshTalk.audio_code)
        other_audio = swap_sequences(audio_code)
        other_motion, other_mask = swap_sequences(displacement), swap_sequences(mask)
        keys = jax.random.split(key, 3)

        def reconstruct(motion, motion_mask, code, k):
            logits = self._apply(params, motion, code, motion_mask, method=MeshTalk.encode)
            one_hot = gumbel_straight_through(k, logits, self.gumbel_temperature)
            return self._apply(params, one_hot, method=MeshTalk.decode)

        own = reconstruct(displacement, mask, audio_code, keys[0])
        other_expression = reconstruct(other_motion, other_mask, audio_code, keys[1])
        other_voice = reconstruct(displacement, mask, other_audio, keys[2])
        per_frame = (
            self.recon_weight * region_error(own, displacement, None)
            + self.eyelid_weight * region_error(own, displacement, stats["eyelids"])
            + self.mouth_weight * region_error(other_expression, displacement, stats["mouth"])
            + self.upper_weight * region_error(other_voice, displacement, stats["upper_face"])
        )
        return jnp.sum(per_frame * mask), jnp.sum(mask)

    def _context_loss(self, params, audio, displacement, mask, frames):
        frozen = jax.lax.stop_gradient(params)
        audio_code = self._apply(frozen, audio, frames, method=MeshTalk.audio_code)
        logits = self._apply(frozen, displacement, audio_code, mask, method=MeshTalk.encode)
        codes = jnp.argmax(logits, -1)
        # the context model's own parameters are the only ones with a gradient here
        context = {"params": {**frozen["params"], "context": params["params"]["context"]}}
        predicted = self._apply(context, codes, audio_code, method=MeshTalk.context_logits)
        log_p = jax.nn.log_softmax(predicted, -1)
        nll = -jnp.take_along_axis(log_p, codes[..., None], -1)[..., 0]  # [B, T, H]
        heads = self.config.num_heads
        return jnp.sum(nll.sum(-1) * mask), jnp.sum(mask) * heads

    # -- inference ---------------------------------------------------------------------------

    def generate(self, variables, audio, frames: int, key=None, temperature: float = 1.0):
        key = jax.random.key(0) if key is None else key
        displacement, _ = self.model.apply(
            variables, audio, frames, key, temperature, method=MeshTalk.sample
        )
        return displacement

    def reconstruct(self, variables, audio, displacement, mask=None):
        """Displacements [B, T, V·3] cm through the argmax code of (expression, audio): what the
        disentanglement checks swap inputs of. `mask` [B, T]: valid frames (None: all)."""
        frames = displacement.shape[1]
        audio_code = self.model.apply(variables, audio, frames, method=MeshTalk.audio_code)
        logits = self.model.apply(variables, displacement, audio_code, mask, method=MeshTalk.encode)
        one_hot = jax.nn.one_hot(jnp.argmax(logits, -1), self.config.num_classes)
        return self.model.apply(variables, one_hot, method=MeshTalk.decode)

    def codes(self, variables, audio, displacement, mask, key, temperature: float = 1.0):
        """For the latent's usage measures (`codes.py`): the encoder's argmax codes [B, T, H] of
        (expression, audio), the same with another sequence's expression (`swap_sequences`), and
        codes the context model samples from the audio alone."""
        frames = displacement.shape[1]
        audio_code = self.model.apply(variables, audio, frames, method=MeshTalk.audio_code)

        def argmax(motion, motion_mask):
            logits = self.model.apply(
                variables, motion, audio_code, motion_mask, method=MeshTalk.encode
            )
            return jnp.argmax(logits, -1)

        own = argmax(displacement, mask)
        swapped = argmax(swap_sequences(displacement), swap_sequences(mask))
        _, sampled = self.model.apply(
            variables, audio, frames, key, temperature, method=MeshTalk.sample
        )
        return own, swapped, sampled


def swap_sequences(x: jnp.ndarray) -> jnp.ndarray:
    """x [B, T, …] with each sequence replaced by another one: the batch rolled by one, or, for a
    single sequence, its window rolled by half its length."""
    if x.shape[0] > 1:
        return jnp.roll(x, 1, axis=0)
    return jnp.roll(x, x.shape[1] // 2, axis=1)


def region_error(predicted, target, weights) -> jnp.ndarray:
    """[B, T] weighted mean over vertices of the squared error (cm²); predicted and target
    [B, T, V·3], weights [V] (None: all vertices alike)."""
    squared = ((predicted - target) ** 2).reshape(*target.shape[:2], -1, 3).sum(-1)  # [B, T, V]
    if weights is None:
        return squared.mean(-1)
    return (squared * weights).sum(-1) / jnp.maximum(weights.sum(), 1e-6)


def dataset_statistics(train, reference: np.ndarray, regions: dict) -> dict[str, np.ndarray]:
    """Template [V·3], per-vertex displacement mean and std [V·3] over the valid training frames
    (std floored at 5 % of its median), region weights [V]."""
    vertices = reference.shape[0]
    valid = np.asarray(train.valid, bool)
    total = np.zeros(vertices * 3)
    squares = np.zeros(vertices * 3)
    count = 0
    for start in range(0, train.num_frames, 4096):
        block = np.asarray(train.landmarks[start : start + 4096, :vertices], np.float64)
        block = (block - reference).reshape(len(block), -1)[valid[start : start + 4096]]
        total += block.sum(0)
        squares += (block**2).sum(0)
        count += len(block)
    if count == 0:
        raise TalkmeshError("the training clips have no valid frame")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std = np.maximum(std, MIN_STD_FRACTION * max(np.median(std), 1e-6))
    stats = {"template": reference.reshape(-1), "mean": mean, "std": std}
    stats.update({name: regions[name] for name in REGIONS})
    return stats
