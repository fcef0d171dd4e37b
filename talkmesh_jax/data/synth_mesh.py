"""A registered-mesh version of the synthetic dataset: MediaPipe's canonical face subdivided
(each triangle into four, `levels` times: 468 → 1,833 → 7,221 vertices at two levels), moved
exactly like the synthetic landmarks (subdivision is linear, so every vertex is a fixed weighted
average of landmarks: mesh = S · landmarks), with the per-vertex region masks and an OBJ template.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkmesh_jax.facemesh import NUM_FACE_LANDMARKS, canonical_face
from talkmesh_jax.regions import REGIONS, landmark_regions


def subdivide(matrix: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One midpoint subdivision: (S [N, L], triangles [F, 3]) → (S' [N + E, L], [4F, 3]), the
    new vertices the midpoints of the E edges."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    mids = len(matrix) + inverse.reshape(-1, 3)  # [F, 3]: midpoint of edges 01, 12, 20
    new_rows = 0.5 * (matrix[unique[:, 0]] + matrix[unique[:, 1]])
    a, b, c = triangles.T
    ab, bc, ca = mids.T
    faces = np.concatenate(
        [np.stack(t, 1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))]
    )
    return np.concatenate([matrix, new_rows]), faces


def subdivision(levels: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(S [N, 468] float32, triangles [F, 3] int32) of the canonical face subdivided `levels`
    times."""
    matrix = np.eye(NUM_FACE_LANDMARKS)
    triangles = canonical_face()["triangles"].astype(np.int64)
    for _ in range(levels):
        matrix, triangles = subdivide(matrix, triangles)
    return matrix.astype(np.float32), triangles.astype(np.int32)


def to_mesh(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Landmarks [T, ≥468, 3] → mesh vertices [T, N, 3] float32."""
    return np.einsum("nl,tlc->tnc", matrix, landmarks[:, :NUM_FACE_LANDMARKS]).astype(np.float32)


def mesh_masks(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """{region: [N] float32 weights in [0, 1]}: the landmark regions interpolated."""
    regions = landmark_regions(NUM_FACE_LANDMARKS)
    return {n: np.clip(matrix @ regions[n], 0, 1).astype(np.float32) for n in REGIONS}


def write_mesh_extras(root: Path, matrix: np.ndarray, triangles: np.ndarray, faces: dict) -> None:
    """masks/<region>.npy, template.obj (the close-mouth face) and the reference faces [N, 3]."""
    from talkmesh_jax.fileio import atomic_path
    from talkmesh_jax.wavefront import write_obj

    (root / "masks").mkdir(exist_ok=True)
    for name, weights in mesh_masks(matrix).items():
        with atomic_path(root / "masks" / f"{name}.npy") as tmp:
            np.save(tmp, weights)
    for name, face in faces.items():
        with atomic_path(root / f"{name}.npy") as tmp:
            np.save(tmp, to_mesh(face[None], matrix)[0])
    with atomic_path(root / "template.obj") as tmp:
        write_obj(tmp, to_mesh(faces["close_mouth_face"][None], matrix)[0], triangles)
