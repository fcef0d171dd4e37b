"""Validation LVE during training: autoregressive generation (as at inference) on fixed windows."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax.facemesh import region_indices
from talkmesh_jax.metrics import lip_vertex_error
from talkmesh_jax.models.faceformer import FaceFormer


class Validator:
    """LVE (cm, L2) of the cached autoregressive predictions on the validation windows."""

    def __init__(self, model: FaceFormer, batches: list[dict], reference: np.ndarray, frames: int):
        self.batches, self.reference = batches, reference
        self._generate = jax.jit(
            lambda v, audio: model.apply(v, audio, frames, method=FaceFormer.generate)
        )

    def lve(self, variables) -> float | None:
        if not self.batches:
            return None
        predictions, truths, valids = [], [], []
        for batch in self.batches:
            displacement = np.asarray(self._generate(variables, jnp.asarray(batch["audio"])))
            predictions.append(displacement.reshape(batch["landmarks"].shape) + self.reference)
            truths.append(batch["landmarks"])
            valids.append(batch["mask"])
        shape = (-1, *self.reference.shape)
        prediction = np.concatenate(predictions).reshape(shape)
        truth = np.concatenate(truths).reshape(shape)
        valid = np.concatenate(valids).reshape(-1)
        return lip_vertex_error(prediction, truth, valid, region_indices()["lips"])[0]
