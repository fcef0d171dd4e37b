"""Reference faces of a dataset, as the original project defined them.

mean_face: mean of all valid frames. close_mouth_face: mean of the N valid frames (N = 250 by
default) with the smallest inner-lip area (area of the inner lip contour in the x–y plane of the
metric frame). Both [V, 3] float32 cm, written in the dataset's landmark layout.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.dataset import Dataset, save_array, to_layout
from talkmesh_jax.facemesh import inner_lip_area


def reference_faces(
    dataset: Dataset, names: list[str], close_frames: int = 250, show_progress: bool = True
) -> dict[str, np.ndarray]:
    """{"mean_face", "close_mouth_face"}: [V, 3] float32 over the valid frames of `names`."""
    if close_frames <= 0:
        raise ValueError(f"close-mouth frame count must be positive, got {close_frames}")
    total, count = None, 0
    best_faces, best_areas = None, np.zeros(0)
    for name in tqdm(names, unit="clip", desc="reference faces", disable=not show_progress):
        _, landmarks, valid = dataset.load_clip(name)
        faces = landmarks[valid].astype(np.float64)
        if len(faces) == 0:
            continue
        total = faces.sum(0) if total is None else total + faces.sum(0)
        count += len(faces)
        areas = inner_lip_area(faces)
        if best_faces is not None:
            faces = np.concatenate([best_faces, faces])
            areas = np.concatenate([best_areas, areas])
        keep = np.argsort(areas, kind="stable")[:close_frames]
        best_faces, best_areas = faces[keep], areas[keep]
    if count == 0:
        raise TalkmeshError(f"{dataset.root}: no valid frames in the {len(names)} clips given")
    return {
        "mean_face": (total / count).astype(np.float32),
        "close_mouth_face": best_faces.mean(0).astype(np.float32),
    }


def write_reference_faces(dataset: Dataset, faces: dict[str, np.ndarray]) -> list[str]:
    """Saves each face as DATA/<name>.npy in the dataset's layout; returns the paths."""
    paths = []
    for name, face in faces.items():
        path = dataset.root / f"{name}.npy"
        save_array(path, to_layout(face, dataset.info.layout))
        paths.append(str(path))
    return paths
