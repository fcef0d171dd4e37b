"""Evaluation metrics over landmark sequences, in the dataset's units (cm for metric landmarks).

All take prediction and truth [T, V, 3] (absolute positions) and valid [T] bool; index sets are
MediaPipe's (`facemesh.region_indices()`), written next to every result.
  LVE   lip vertex error: per frame the max over lip landmarks of the L2 error, averaged over
        frames; also squared (max of squared L2, averaged), as the published BIWI numbers.
  MVE   mean vertex error: L2 error averaged over all landmarks and frames.
  FDD   upper-face dynamics deviation (CodeTalker's definition): per upper-face landmark, the
        standard deviation over time of its *squared* distance to the template face (cm²); truth
        minus prediction, averaged over the landmarks.
  MSE, velocity MSE over all landmarks and over the lips: the original project's numbers (squared
        error per coordinate; velocities: differences of consecutive valid frames).
Blendshapes (coefficients in [0, 1]): per coefficient the mean absolute error, the RMS error and
Pearson's correlation with the truth over valid frames (None where either side is constant).
"""

from __future__ import annotations

import numpy as np


def _valid(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64)[np.asarray(valid, bool)]


def lip_vertex_error(pred, true, valid, lips) -> tuple[float, float]:
    """(LVE as L2, LVE as squared L2) over valid frames."""
    error = np.linalg.norm(_valid(pred, valid)[:, lips] - _valid(true, valid)[:, lips], axis=-1)
    worst = error.max(axis=1)
    return float(worst.mean()), float((worst**2).mean())


def mean_vertex_error(pred, true, valid) -> float:
    return float(np.linalg.norm(_valid(pred, valid) - _valid(true, valid), axis=-1).mean())


def upper_face_dynamics_deviation(pred, true, valid, upper, template) -> float:
    """FDD in squared units (cm²): mean over `upper` of std_t |x − template|² (truth − pred)."""

    def dynamics(x):
        squared = ((_valid(x, valid)[:, upper] - template[upper]) ** 2).sum(axis=-1)
        return squared.std(axis=0)

    return float((dynamics(true) - dynamics(pred)).mean())


def mse(pred, true, valid, indices=None) -> float:
    p, t = _valid(pred, valid), _valid(true, valid)
    if indices is not None:
        p, t = p[:, indices], t[:, indices]
    return float(((p - t) ** 2).mean())


def velocity_mse(pred, true, valid, indices=None) -> float:
    valid = np.asarray(valid, bool)
    both = valid[1:] & valid[:-1]
    p = np.diff(np.asarray(pred, np.float64), axis=0)[both]
    t = np.diff(np.asarray(true, np.float64), axis=0)[both]
    if indices is not None:
        p, t = p[:, indices], t[:, indices]
    return float(((p - t) ** 2).mean()) if len(p) else 0.0


def all_metrics(pred, true, valid, regions: dict, template: np.ndarray) -> dict[str, float]:
    """Every metric above for one sequence; regions from `facemesh.region_indices()`."""
    lips, upper = regions["lips"], regions["upper_face"]
    lve, lve_squared = lip_vertex_error(pred, true, valid, lips)
    return {
        "lve": lve,
        "lve_squared": lve_squared,
        "mve": mean_vertex_error(pred, true, valid),
        "fdd": upper_face_dynamics_deviation(pred, true, valid, upper, template),
        "mse_face": mse(pred, true, valid),
        "mse_lips": mse(pred, true, valid, lips),
        "velocity_mse_face": velocity_mse(pred, true, valid),
        "velocity_mse_lips": velocity_mse(pred, true, valid, lips),
    }


def fit_length(x: np.ndarray, frames: int) -> np.ndarray:
    """x [T, …] cut or padded (repeating its last frame) to [frames, …]."""
    if len(x) >= frames:
        return x[:frames]
    return np.concatenate([x, np.repeat(x[-1:], frames - len(x), axis=0)])


def lip_gap(landmarks: np.ndarray) -> np.ndarray:
    """[T, V ≥ 15, 3] MediaPipe landmarks → [T] distance between the inner lips' midpoints
    (13 upper, 14 lower), in the landmarks' unit."""
    return np.linalg.norm(np.asarray(landmarks)[:, 13] - np.asarray(landmarks)[:, 14], axis=-1)


def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r of two [N] series; None when either is constant (r undefined)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or a.std() < 1e-9 or b.std() < 1e-9:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def blendshape_metrics(pred, true, valid, names) -> dict[str, dict[str, float | None]]:
    """pred, true [T, K] coefficients, valid [T] → {name: {"mae", "rmse", "correlation"}}."""
    p, t = _valid(pred, valid), _valid(true, valid)
    error = p - t
    return {
        name: {
            "mae": float(np.abs(error[:, k]).mean()),
            "rmse": float(np.sqrt((error[:, k] ** 2).mean())),
            "correlation": correlation(p[:, k], t[:, k]),
        }
        for k, name in enumerate(names)
    }
