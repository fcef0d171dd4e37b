"""The interface every model family implements (`models/registry.py` chooses the family a
config names).

The trainer, validation, eval, export and the benchmarks call only this interface (after T5X's
`BaseModel`): build from the config (`model.family`), initialise, loss(params, batch, reference,
step, key), generate(variables, audio, frames, key, temperature), and the training stages with
the parameters each trains. Inference needs a family and its saved variables, never the optimiser
or the training package.

A family may train in stages (MeshTalk: the autoencoder, then its context model): stages run one
after the other in one run, each with its own optimiser over its own parameters; the step number
says which stage a step belongs to.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.targets import TargetLayout


@dataclass(frozen=True)
class Stage:
    """Steps [start, start + steps) of training update the top-level parameters `trainable`
    (None: all that are not frozen) at `learning_rate` (None: train.learning_rate)."""

    name: str
    start: int
    steps: int
    trainable: tuple[str, ...] | None = None
    learning_rate: float | None = None

    @property
    def end(self) -> int:
        return self.start + self.steps


class ModelFamily(abc.ABC):
    """A model and what training and inference do with it. Variables are {"params": …}."""

    name: str = ""
    layout: TargetLayout  # what a frame's predicted vector holds

    @property
    def frozen(self) -> tuple[str, ...]:
        """Top-level parameter names no stage updates: `audio_encoder` when it is a frozen
        Whisper (families add their own, such as data statistics)."""
        encoder = self.audio_encoder_config
        frozen = encoder is not None and encoder.kind == "whisper" and encoder.frozen
        return ("audio_encoder",) if frozen else ()

    @property
    def audio_encoder_config(self):
        """The `AudioEncoderConfig` of a pretrained-loadable audio encoder, or None."""
        return None

    @abc.abstractmethod
    def stages(self) -> list[Stage]:
        """The training stages in order; their steps add up to the run's length."""

    @abc.abstractmethod
    def init(self, key: jax.Array, window_frames: int):
        """Fresh variables (traceable; data statistics at neutral values)."""

    def fit_statistics(self, variables, data):
        """`variables` with the statistics the model keeps of the run's `data` (an object with
        `train`: the training split's `PackedClips`, `regions`: {name: [V] weights}; or None);
        host arrays in and out."""
        return variables

    @abc.abstractmethod
    def loss(self, params, batch: dict, reference, step, key) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(error sum, count) of one batch on one device; the loss is their ratio after both are
        summed over devices. batch: audio [B, W·640], landmarks [B, W, V, 3] cm, mask [B, W]
        (+ blendshapes [B, W, K]); reference [V, 3] the face targets are measured from; step:
        the 0-based step (traced); key: this step's and device's random key."""

    @abc.abstractmethod
    def generate(self, variables, audio, frames: int, key=None, temperature: float = 1.0):
        """Predicted target vectors [B, frames, D] for audio [B, frames·640] (`layout`); `key`
        and `temperature` matter to families that sample."""

    @property
    def samples(self) -> bool:
        """Whether `generate` draws random samples (so `--seed` and `--temperature` matter)."""
        return False

    def total_steps(self) -> int:
        return self.stages()[-1].end

    def stage_at(self, step: int) -> Stage:
        """The stage that step `step` (1-based, as logged) belongs to."""
        for stage in self.stages():
            if step <= stage.end:
                return stage
        return self.stages()[-1]

    def example_inputs(self, window_frames: int) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(audio [1, W·640] — or Whisper features [1, 2W, d_model] for context 'chunked' —,
        targets [1, W, D]) zeros, to initialise or trace the model."""
        encoder = self.audio_encoder_config
        if encoder is not None and encoder.inputs_are_features:
            from talkmesh_jax.models.audio_encoder import whisper_architecture

            width = (encoder.architecture or whisper_architecture(encoder))["d_model"]
            audio = jnp.zeros((1, 2 * window_frames, width), jnp.float32)
        else:
            audio = jnp.zeros((1, window_frames * SAMPLES_PER_FRAME), jnp.float32)
        return audio, jnp.zeros((1, window_frames, self.layout.dim), jnp.float32)

    def abstract_variables(self, window_frames: int):
        """The variables' ShapeDtypeStructs, traced without computing anything."""
        return jax.eval_shape(lambda key: self.init(key, window_frames), jax.random.key(0))
