"""Does the generated face live like the data's? Upper-face motion and blink rate, model vs data.

upper-face motion  per clip, each upper-face vertex's standard deviation over the valid frames
                   (the norm of its per-axis std, cm), averaged over those vertices; then the
                   mean over clips weighted by valid frames. A collapsed latent gives a still
                   upper face (MeshTalk samples it: the audio does not decide it).
blinks per minute  the eyelid gap (MediaPipe's upper/lower lid points of both eyes, 159–145 and
                   386–374, averaged) relative to its median over the clip's valid frames; a
                   blink starts where it falls below BLINK_FRACTION between two valid frames.
                   Landmark layouts only (a mesh has no such points: None).
Both for the model's output (sampled with eval's seed) and for the data of the same clips, and
their ratio model / data.
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax import FPS

EYELIDS = ((159, 145), (386, 374))  # (upper, lower) lid points of the right and left eye
BLINK_FRACTION = 0.5


def upper_face_motion(landmarks: np.ndarray, valid: np.ndarray, upper: list[int]) -> float:
    """cm: mean over `upper` vertices of the norm of their per-axis std over valid frames."""
    kept = np.asarray(landmarks)[np.asarray(valid, bool)][:, upper]
    if len(kept) < 2:
        return 0.0
    return float(np.sqrt(kept.var(0).sum(-1)).mean())


def blink_count(landmarks: np.ndarray, valid: np.ndarray) -> int:
    """Blink onsets (module docstring) in landmarks [T, V ≥ 468, 3]."""
    valid = np.asarray(valid, bool)
    gap = np.mean(
        [np.linalg.norm(landmarks[:, a] - landmarks[:, b], axis=-1) for a, b in EYELIDS], 0
    )
    if valid.sum() < 2:
        return 0
    closed = gap < BLINK_FRACTION * np.median(gap[valid])
    onsets = closed[1:] & ~closed[:-1] & valid[1:] & valid[:-1]
    return int(onsets.sum())


class Liveliness:
    """Accumulates clips (`add`), then `summary()`."""

    def __init__(self, upper: list[int], blinks: bool):
        self.upper, self.blinks = upper, blinks
        self.frames = 0
        self.motion = {"data": 0.0, "model": 0.0}
        self.count = {"data": 0, "model": 0}

    def add(self, truth: np.ndarray, model: np.ndarray, valid: np.ndarray) -> None:
        """truth and model [T, V, 3] cm, valid [T]."""
        frames = int(np.asarray(valid, bool).sum())
        if frames < 2:
            return
        self.frames += frames
        for name, landmarks in (("data", truth), ("model", model)):
            self.motion[name] += frames * upper_face_motion(landmarks, valid, self.upper)
            if self.blinks:
                self.count[name] += blink_count(landmarks, valid)

    def summary(self) -> dict:
        """{"upper_face_motion_cm": {"data", "model", "ratio"}, "blinks_per_minute": {…} or
        None, "frames"}."""
        if self.frames == 0:
            return {}
        motion = {k: v / self.frames for k, v in self.motion.items()}
        out = {"frames": self.frames, "upper_face_motion_cm": _with_ratio(motion)}
        minutes = self.frames / FPS / 60
        out["blinks_per_minute"] = (
            _with_ratio({k: v / minutes for k, v in self.count.items()}) if self.blinks else None
        )
        return out


def _with_ratio(values: dict) -> dict:
    ratio = values["model"] / values["data"] if values["data"] > 0 else None
    return {**values, "ratio": ratio}
