"""What a model predicts per frame: landmarks, blendshapes, or both, as one target vector.

A frame's target vector [D] is the landmark part (V·3 values: landmarks − the reference face,
cm, `model.output_type`) followed by the blendshape part (K values in [0, 1], MediaPipe's names
and order). `model.targets` picks the parts:
  landmarks                 D = V·3 (the original's output)
  blendshapes               D = K (52 ARKit-named coefficients)
  landmarks+blendshapes     D = V·3 + K
The loss is the landmark MSE plus `train.blendshape_weight` × the blendshape MSE, each the mean
over its own values and the valid frames (blendshapes alone: the blendshape MSE).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGETS = ("landmarks", "blendshapes", "landmarks+blendshapes")
REFERENCE_FOR_OUTPUT = {"disp_close": "close_mouth_face", "disp_mean": "mean_face", "pos": None}


def target_reference(faces: dict[str, np.ndarray], output_type: str) -> np.ndarray:
    """[V, 3] face the landmark targets are measured from: the close-mouth or mean face, or zeros
    (`pos`); `faces` holds mean_face and close_mouth_face [V, 3]."""
    kind = REFERENCE_FOR_OUTPUT[output_type]
    return faces[kind] if kind else np.zeros_like(faces["mean_face"])


@dataclass(frozen=True)
class TargetLayout:
    """The parts of the target vector: V landmarks (0 if not predicted), K blendshapes (0 if
    not predicted)."""

    num_landmarks: int
    num_blendshapes: int

    @classmethod
    def of(cls, targets: str, num_landmarks: int, num_blendshapes: int) -> TargetLayout:
        if targets not in TARGETS:
            raise ValueError(f"targets must be one of {TARGETS}, got {targets!r}")
        return cls(
            num_landmarks if "landmarks" in targets else 0,
            num_blendshapes if "blendshapes" in targets else 0,
        )

    @property
    def landmark_dim(self) -> int:
        return 3 * self.num_landmarks

    @property
    def dim(self) -> int:
        return self.landmark_dim + self.num_blendshapes

    def weights(self, blendshape_weight: float = 1.0) -> np.ndarray:
        """[D] float32 per-value loss weights: each part's weights sum to 1 (blendshapes:
        `blendshape_weight` when landmarks are predicted too)."""
        landmarks = np.full(self.landmark_dim, 1.0 / max(self.landmark_dim, 1))
        scale = blendshape_weight if self.num_landmarks else 1.0
        blendshapes = np.full(self.num_blendshapes, scale / max(self.num_blendshapes, 1))
        return np.concatenate([landmarks, blendshapes]).astype(np.float32)

    def split(self, vectors: np.ndarray, reference: np.ndarray | None = None) -> dict:
        """[..., D] predictions → {"landmarks": [..., V, 3] (+ reference [V, 3] when given),
        "blendshapes": [..., K]}, each only when predicted."""
        out = {}
        if self.num_landmarks:
            part = vectors[..., : self.landmark_dim]
            landmarks = part.reshape(*part.shape[:-1], self.num_landmarks, 3)
            out["landmarks"] = landmarks if reference is None else landmarks + reference
        if self.num_blendshapes:
            out["blendshapes"] = vectors[..., self.landmark_dim :]
        return out


def make_targets(batch: dict, reference, layout: TargetLayout, xp=np):
    """Target vectors [B, T, D] of a batch (landmarks [B, T, V, 3], blendshapes [B, T, K], mask
    [B, T]): landmarks − reference [V, 3] and blendshapes, zero on invalid frames. `xp` is numpy
    or jax.numpy."""
    mask = batch["mask"].astype(xp.float32)
    parts = []
    if layout.num_landmarks:
        landmarks = batch["landmarks"][..., : layout.num_landmarks, :]
        displacement = (landmarks - reference) * mask[..., None, None]
        parts.append(displacement.reshape(*displacement.shape[:2], -1))
    if layout.num_blendshapes:
        if "blendshapes" not in batch:
            raise ValueError("the model predicts blendshapes but the batch has none")
        parts.append(batch["blendshapes"] * mask[..., None])
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=-1)
