"""Validation during training: generation as at inference (the family's `generate`, samples
drawn from a fixed key) on fixed windows.

Landmark models report the lip vertex error (cm, L2); blendshape models the mean absolute error of
the coefficients. The first of these that the model predicts selects the best checkpoint.
Families with a categorical latent (MeshTalk: `codes`) also report how much of it is in use
(`models/meshtalk/codes.py`): the encoder's codes (`code_*`) and the context model's samples
(`sample_code_*`), so a collapsed latent shows in metrics.jsonl and the plots.
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
CODE_METRICS = {
    "code_perplexity": "code perplexity per head (encoder)",
    "code_expression_share": "codes changed by swapping the expression",
    "code_changing_heads": "heads changing over time (encoder)",
    "sample_code_perplexity": "code perplexity per head (sampled)",
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
        self._codes = None
        if hasattr(family, "codes"):
            self.num_classes = family.config.num_classes
            self._codes = jax.jit(lambda v, a, d, m: family.codes(v, a, d, m, key))
        self.last_usage: dict | None = None

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
        if self._codes is not None:
            results.update(self._code_metrics(variables))
        return results

    def _code_metrics(self, variables) -> dict[str, float]:
        from talkmesh_jax.models.meshtalk.codes import usage

        own, swapped, sampled, masks = [], [], [], []
        for batch in self.batches:
            landmarks = np.asarray(batch["landmarks"])[..., : len(self.reference), :]
            motion = (landmarks - self.reference).reshape(*landmarks.shape[:2], -1)
            mask = np.asarray(batch["mask"], np.float32)
            out = self._codes(variables, jnp.asarray(batch["audio"]), motion, mask)
            for store, codes in zip((own, swapped, sampled), out, strict=True):
                store.append(np.asarray(codes))
            masks.append(mask > 0)
        valid = np.concatenate(masks)
        encoder = usage(np.concatenate(own), np.concatenate(swapped), valid, self.num_classes)
        drawn = usage(np.concatenate(sampled), None, valid, self.num_classes)
        self.last_usage = {"encoder": encoder, "sampled": drawn}
        return {
            "code_perplexity": encoder["perplexity"],
            "code_perplexity_min": encoder["perplexity_min"],
            "code_changing_heads": encoder["changing_heads"],
            "code_expression_share": encoder["expression_share"],
            "sample_code_perplexity": drawn["perplexity"],
            "sample_changing_heads": drawn["changing_heads"],
        }

    @staticmethod
    def score(metrics: dict[str, float]) -> float | None:
        """What the best checkpoint is chosen by (lower is better)."""
        for key in METRICS:
            if key in metrics:
                return metrics[key]
        return None
