"""Per-vertex region weights of a dataset's faces: which vertices are the mouth, the lips, the
upper face and the eyelids.

Landmark datasets: from MediaPipe's region definitions (`facemesh.region_indices`); the mouth is
weighted, 1 on the lips and falling off with the distance from them on MediaPipe's canonical face
(exp(−(d / 1 cm)²), cut below 0.05), so the chin and cheeks that move with the jaw count too.
Mesh datasets (dataset.json `"face": "mesh"`): the files masks/<name>.npy, [N] float32 weights
in [0, 1], one per region.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError

REGIONS = ("mouth", "lips", "upper_face", "eyelids")
MOUTH_RADIUS_CM = 1.0


@cache
def landmark_regions(num_landmarks: int) -> dict[str, np.ndarray]:
    """{region: [num_landmarks] float32 weights} of MediaPipe landmarks (irises weight 0 except
    in no region)."""
    from talkmesh_jax.facemesh import canonical_face, region_indices

    indices = region_indices()
    vertices = canonical_face()["vertices"]
    lips = np.asarray(indices["lips"])
    distance = np.linalg.norm(vertices[:, None] - vertices[None, lips], axis=-1).min(axis=1)
    mouth = np.exp(-((distance / MOUTH_RADIUS_CM) ** 2))
    mouth[mouth < 0.05] = 0.0
    out = {}
    for name, weights in (
        ("mouth", mouth),
        ("lips", _indicator(lips, len(vertices))),
        ("upper_face", _indicator(indices["upper_face"], len(vertices))),
        ("eyelids", _indicator(indices["eyes"], len(vertices))),
    ):
        full = np.zeros(num_landmarks, np.float32)
        full[: len(weights)] = weights
        out[name] = full
    return out


def _indicator(indices, size: int) -> np.ndarray:
    weights = np.zeros(size, np.float32)
    weights[np.asarray(indices)] = 1.0
    return weights


def mesh_regions(root, num_vertices: int) -> dict[str, np.ndarray]:
    """{region: [N] float32} read from root/masks/<region>.npy (each must exist, [N], in [0, 1])."""
    out = {}
    for name in REGIONS:
        path = Path(root) / "masks" / f"{name}.npy"
        if not path.exists():
            raise TalkmeshError(f"{path}: missing (a mesh dataset needs one mask per region)")
        weights = np.load(path).astype(np.float32)
        if weights.shape != (num_vertices,) or weights.min() < 0 or weights.max() > 1:
            raise TalkmeshError(
                f"{path}: shape {weights.shape}, range [{weights.min():.3g}, {weights.max():.3g}]"
                f"; expected [{num_vertices}] weights in [0, 1]"
            )
        out[name] = weights
    return out


def dataset_regions(dataset, num_vertices: int) -> dict[str, np.ndarray]:
    """The region weights of `dataset` (a `data.dataset.Dataset`) for its first `num_vertices`."""
    if dataset.info.face == "mesh":
        return mesh_regions(dataset.root, num_vertices)
    return landmark_regions(num_vertices)


def region_vertices(weights: np.ndarray) -> np.ndarray:
    """Indices of the vertices in a region ([V] weights > 0.5)."""
    return np.flatnonzero(np.asarray(weights) > 0.5)
