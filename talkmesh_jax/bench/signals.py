"""Synthetic test signals for benchmarks and tests (no downloads, no system packages)."""

from __future__ import annotations

import numpy as np

from talkmesh_jax import SAMPLE_RATE


def speechlike(batch: int, samples: int, seed: int = 0) -> np.ndarray:
    """[B, S] float32 16 kHz: a gliding voiced source (11 harmonics around 110 Hz) under
    syllable-rate envelopes, with pauses and a little noise — real-ish speech energy patterns."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / SAMPLE_RATE
    out = np.empty((batch, samples), np.float32)
    for b in range(batch):
        pitch = 110 + 40 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t)
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        voice = sum(np.sin(k * phase) / k for k in range(1, 12))
        envelope = np.clip(np.sin(2 * np.pi * rng.uniform(2, 4) * t), 0, None) ** 2
        out[b] = 0.2 * voice * envelope + 0.01 * rng.standard_normal(samples)
    return out
