"""Validation during training: generation as at inference (the family's `generate`, samples
drawn from a fixed key) on fixed windows.

Landmark models report the lip vertex error (cm, L2); blendshape models the mean absolute error of
the coefficients. The first of these that the model predicts selects the best checkpoint.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax.metrics import lip_vertex_error
from talkmesh_jax.models.family import ModelFamily
from talkmesh_jax.regions import region_vertices

# What validation reports, with its label; the first a model reports selects the best checkpoint.
METRICS = {
    "valid_lve": "validation LVE (cm)",
    "valid_blendshape_mae": "validation blendshape MAE",
}


class Validator:
    """Metrics of the generated predictions on the validation windows."""

    def __init__(
        self,
        family: ModelFamily,
        batches: list[dict],
        reference: np.ndarray,
        frames: int,
        regions: dict[str, np.ndarray],
    ):
        """`regions`: the data's region weights [V] (`RunData.regions`); LVE is over its lips."""
        self.batches, self.reference = batches, reference
        self.lips = region_vertices(regions["lips"])
        self.layout = family.layout
        key = jax.random.key(0)
        self._generate = jax.jit(lambda v, audio: family.generate(v, audio, frames, key))

    def metrics(self, variables) -> dict[str, float]:
        """{"valid_lve": cm} and/or {"valid_blendshape_mae": coefficient units}; {} without
        validation windows."""
        if not self.batches:
            return {}
        predictions, truths, valids = [], [], []
        for batch in self.batches:
            output = np.asarray(self._generate(variables, jnp.asarray(batch["audio"])))
            predictions.append(self.layout.split(output, self.reference))
            truths.append(batch)
            valids.append(np.asarray(batch["mask"], bool).reshape(-1))
        valid = np.concatenate(valids)
        results = {}
        if self.layout.num_landmarks:
            shape = (-1, *self.reference.shape)
            prediction = np.concatenate([p["landmarks"] for p in predictions]).reshape(shape)
            truth = np.concatenate([t["landmarks"] for t in truths]).reshape(shape)
            results["valid_lve"] = lip_vertex_error(prediction, truth, valid, self.lips)[0]
        if self.layout.num_blendshapes:
            k = self.layout.num_blendshapes
            prediction = np.concatenate([p["blendshapes"] for p in predictions]).reshape(-1, k)
            truth = np.concatenate([t["blendshapes"] for t in truths]).reshape(-1, k)
            results["valid_blendshape_mae"] = float(np.abs(prediction - truth)[valid].mean())
        return results

    @staticmethod
    def score(metrics: dict[str, float]) -> float | None:
        """What the best checkpoint is chosen by (lower is better)."""
        for key in METRICS:
            if key in metrics:
                return metrics[key]
        return None
