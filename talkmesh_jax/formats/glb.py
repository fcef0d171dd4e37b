"""OUT.glb: a landmark or mesh animation as a glTF any viewer plays — a compact PCA basis of the
sequence as morph targets, and their weights as an animation at the video frame rate.

The frames go to an anonymous scratch file as they arrive (memory stays flat for any length).
At the end: the mean face μ and the principal directions of the frames' deviations from it (the
covariance's eigenvectors, [D, D] with D = 3V, up to EXACT_MAX_VALUES; a randomized range finder
with power iterations beyond), K components, the fewest whose reconstruction error (per-vertex
RMS over all frames) is at most `TOLERANCE_CM`, at most MAX_COMPONENTS. Each component's
coefficients c_k(t) ∈ [lo_k, hi_k] become a weight in [0, 1] (viewers and Blender's shape-key
sliders expect that range): the neutral is μ + Σ lo_k b_k and target k is (hi_k − lo_k) b_k, so
neutral + Σ w_k target_k is exactly the reconstruction. Units: glTF's metres (cm / 100).
The components, the RMS and worst per-vertex error of the reconstruction actually written (cm)
are in the file (`asset.extras.talkmesh`) and printed by `talkmesh export`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from talkmesh_jax.formats.base import FaceInfo, FrameWriter
from talkmesh_jax.formats.gltf import read_about, write_rig, write_weight_animation

TOLERANCE_CM = 0.005  # 0.05 mm per vertex, RMS over the frames: below MediaPipe's jitter
MAX_COMPONENTS = 32
EXACT_MAX_VALUES = 4096  # 3V up to this: the exact covariance; beyond: randomized
CHUNK_FRAMES = 2048


class GlbWriter(FrameWriter):
    """OUT.glb (see the module docstring)."""

    needs_landmarks = needs_triangles = True

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.scratch = tempfile.TemporaryFile()

    def _write(self, block):
        self.scratch.write(np.ascontiguousarray(block["landmarks"], np.float32).tobytes())

    def finish(self) -> list[Path]:
        self.scratch.flush()
        count, values = self.frames, 3 * int(self.face.num_vertices)
        frames = np.memmap(self.scratch, np.float32, "r", shape=(count, values))
        basis = pca_basis(frames)
        neutral, targets, weights, about = encode(frames, basis)
        vertices = int(self.face.num_vertices)
        with tempfile.TemporaryDirectory() as folder:
            rig = write_rig(
                Path(folder) / "rig.glb",
                neutral.reshape(vertices, 3) / 100.0,
                np.asarray(self.face.triangles),
                {f"pca_{k:02d}": t.reshape(vertices, 3) / 100.0 for k, t in enumerate(targets)},
                about=about,
            )
            write_weight_animation(rig, self.target, weights, self.face.fps)
        self.scratch.close()
        return [self.target]

    def discard(self) -> None:
        self.scratch.close()


def _centred(frames: np.ndarray, mean: np.ndarray):
    """frames [T, D] − mean, CHUNK_FRAMES rows at a time (a memmap is read once per pass)."""
    for start in range(0, len(frames), CHUNK_FRAMES):
        yield frames[start : start + CHUNK_FRAMES] - mean


def pca_basis(frames: np.ndarray, tolerance_cm: float = TOLERANCE_CM) -> dict:
    """{"mean": [D], "directions": [K, D] orthonormal, "energy": [K] captured per direction,
    "total": the deviations' total energy} for frames [T, D] (cm), K as the module docstring."""
    count, values = frames.shape
    mean = np.zeros(values)
    for start in range(0, count, CHUNK_FRAMES):
        mean += frames[start : start + CHUNK_FRAMES].sum(0, dtype=np.float64)
    mean /= max(count, 1)
    most = max(1, min(MAX_COMPONENTS, count - 1, values))
    if values <= EXACT_MAX_VALUES:
        energy, directions = _exact(frames, mean)
    else:
        energy, directions = _randomized(frames, mean, most)
    total = _total_energy(frames, mean)
    vertices = values // 3
    allowed = tolerance_cm**2 * count * vertices  # Σ over frames and vertices of squared error
    left = total - np.cumsum(energy[:most])
    keep = int(np.argmax(left <= allowed)) + 1 if np.any(left <= allowed) else most
    return {"mean": mean, "directions": directions[:keep], "energy": energy[:keep], "total": total}


def _exact(frames: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    covariance = np.zeros((len(mean), len(mean)))
    for centred in _centred(frames, mean):
        covariance += centred.T @ centred
    energy, vectors = np.linalg.eigh(covariance)
    order = np.argsort(energy)[::-1]
    return np.maximum(energy[order], 0.0), vectors[:, order].T


def _randomized(frames: np.ndarray, mean: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Halko et al.'s randomized range finder on the centred frames (two power iterations),
    streamed in chunks: → (energy [L], directions [L, D]) for L = rank + 16."""
    width = min(rank + 16, len(mean))
    probe = np.random.default_rng(0).standard_normal((len(mean), width))
    for _ in range(3):  # Y = Aᵀ(A Ω), twice re-orthonormalised
        gathered = np.zeros((len(mean), width))
        for centred in _centred(frames, mean):
            gathered += centred.T @ (centred @ probe)
        probe, _ = np.linalg.qr(gathered)
    small = np.zeros((width, width))
    for centred in _centred(frames, mean):
        projected = centred @ probe
        small += projected.T @ projected
    energy, vectors = np.linalg.eigh(small)
    order = np.argsort(energy)[::-1]
    return np.maximum(energy[order], 0.0), (probe @ vectors[:, order]).T


def _total_energy(frames: np.ndarray, mean: np.ndarray) -> float:
    return float(sum((centred**2).sum() for centred in _centred(frames, mean)))


def encode(frames: np.ndarray, basis: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(neutral [D] cm, targets [K, D] cm, weights [T, K] in [0, 1], about) of frames [T, D]
    in `basis`; `about` has the components and the reconstruction's error (cm) as written."""
    mean, directions = basis["mean"], basis["directions"]
    coefficients = np.concatenate([c @ directions.T for c in _centred(frames, mean)])
    low, high = coefficients.min(0), coefficients.max(0)
    span = np.where(high - low > 1e-12, high - low, 1.0)
    weights = ((coefficients - low) / span).astype(np.float32)
    neutral = (mean + low @ directions).astype(np.float32)
    targets = (span[:, None] * directions).astype(np.float32)
    squared, worst = 0.0, 0.0
    for start in range(0, len(frames), CHUNK_FRAMES):
        rebuilt = neutral + weights[start : start + CHUNK_FRAMES] @ targets
        error = (rebuilt - frames[start : start + CHUNK_FRAMES]).reshape(len(rebuilt), -1, 3)
        per_vertex = (error.astype(np.float64) ** 2).sum(-1)
        squared += float(per_vertex.sum())
        worst = max(worst, float(np.sqrt(per_vertex.max())))
    vertices = frames.shape[1] // 3
    about = {
        "kind": "pca",
        "components": len(directions),
        "rms_error_cm": float(np.sqrt(squared / max(len(frames) * vertices, 1))),
        "max_error_cm": worst,
        "tolerance_cm": TOLERANCE_CM,
        "frames": len(frames),
    }
    return neutral, targets, weights, about


def glb_summary(path: Path) -> str:
    """One line about an exported OUT.glb: its components and reconstruction error."""
    about = read_about(path)
    if about.get("kind") != "pca":
        return f"{path}: a rig animation"
    return (
        f"{path}: {about['components']} PCA morph targets, reconstruction error "
        f"{about['rms_error_cm'] * 10:.3f} mm RMS, {about['max_error_cm'] * 10:.3f} mm worst vertex"
    )
