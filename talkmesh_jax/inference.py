"""Landmarks and blendshapes for audio of any length with a trained model: overlapping windows,
cross-faded.

Each window of the model's training length (W frames) is generated autoregressively with the
key/value cache; windows start every W − W/5 frames and are blended with linear ramps over their
overlap, so no seam shows where one window's autoregressive state restarts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.models.faceformer import FaceFormer


class Predictor:
    """model + variables + reference face [V, 3] → for audio [S]: absolute landmarks [T, V, 3]
    and/or blendshapes [T, K], whichever the model predicts (`model.config.targets`)."""

    def __init__(
        self,
        model: FaceFormer,
        variables,
        reference: np.ndarray,
        window_frames: int,
        batch_size: int = 8,
        decoder: str = "cached",
    ):
        """`decoder`: "cached" (the key/value cache, what export uses) or "recompute" (the
        original's recomputation of the prefix for every frame; for benchmarks)."""
        self.model, self.variables = model, variables
        self.layout = model.config.layout
        self.reference = np.asarray(reference, np.float32)
        self.window = int(window_frames)
        self.batch_size = batch_size
        method = {"cached": FaceFormer.generate, "recompute": FaceFormer.generate_recompute}
        self._generate = jax.jit(
            lambda v, audio: model.apply(v, audio, self.window, method=method[decoder])
        )

    def window_starts(self, num_frames: int) -> list[int]:
        """First frames of the windows covering [0, num_frames)."""
        hop = max(1, self.window - self.window // 5)
        starts = [0]
        while starts[-1] + self.window < num_frames:
            starts.append(starts[-1] + hop)
        return starts

    def generate_windows(self, audio_windows: np.ndarray) -> np.ndarray:
        """[N, W·640] → target vectors [N, W, D] (batched, padded to the batch size)."""
        outputs = []
        for i in range(0, len(audio_windows), self.batch_size):
            chunk = audio_windows[i : i + self.batch_size]
            padded = np.zeros((self.batch_size, *chunk.shape[1:]), np.float32)
            padded[: len(chunk)] = chunk
            outputs.append(
                np.asarray(self._generate(self.variables, jnp.asarray(padded)))[: len(chunk)]
            )
        return np.concatenate(outputs)

    def predict_all(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """audio [S] float32 16 kHz → {"landmarks": [T, V, 3] absolute, "blendshapes": [T, K]},
        those the model predicts, T = round(S / 640), float32."""
        num_frames = max(1, round(len(audio) / SAMPLES_PER_FRAME))
        starts = self.window_starts(num_frames)
        total = starts[-1] + self.window
        padded = np.zeros(total * SAMPLES_PER_FRAME, np.float32)
        padded[: min(len(audio), len(padded))] = audio[: len(padded)]
        step = self.window * SAMPLES_PER_FRAME
        windows = np.stack(
            [padded[s * SAMPLES_PER_FRAME : s * SAMPLES_PER_FRAME + step] for s in starts]
        )
        predictions = self.generate_windows(windows)
        blended = np.zeros((total, predictions.shape[-1]), np.float64)
        weights = np.zeros(total)
        overlap = self.window // 5
        for index, (start, prediction) in enumerate(zip(starts, predictions, strict=True)):
            weight = np.ones(self.window)
            if index > 0 and overlap:
                weight[:overlap] = np.linspace(0, 1, overlap + 2)[1:-1]
            if index < len(starts) - 1 and overlap:
                weight[-overlap:] = np.linspace(1, 0, overlap + 2)[1:-1]
            blended[start : start + self.window] += weight[:, None] * prediction
            weights[start : start + self.window] += weight
        vectors = (blended / weights[:, None])[:num_frames]
        parts = self.layout.split(vectors, self.reference)
        return {name: part.astype(np.float32) for name, part in parts.items()}
