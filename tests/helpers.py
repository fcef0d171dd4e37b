"""Test helpers: small datasets with the awkward cases real data has."""

from __future__ import annotations

import numpy as np

from talkmesh_jax.data.packed import PackedClips, concatenate_clips


def random_clips(
    rng: np.random.Generator,
    num_clips: int | None = None,
    num_vertices: int | None = None,
    max_frames: int = 80,
    invalid_rate: float | None = None,
) -> PackedClips:
    """Clips of 0..max_frames frames; audio up to ±2 frames shorter or longer than the frames."""
    num_clips = num_clips or int(rng.integers(1, 7))
    num_vertices = num_vertices or int(rng.integers(1, 6))
    invalid_rate = rng.uniform(0, 0.6) if invalid_rate is None else invalid_rate
    lengths = [int(rng.integers(0, max_frames + 1)) for _ in range(num_clips)]
    lengths[int(rng.integers(num_clips))] = max_frames  # at least one long clip
    audios = [
        rng.standard_normal(max(0, n * 640 + int(rng.integers(-1300, 1300)))).astype(np.float32)
        for n in lengths
    ]
    landmarks = [rng.standard_normal((n, num_vertices, 3)).astype(np.float32) for n in lengths]
    valids = [rng.random(n) >= invalid_rate for n in lengths]
    return concatenate_clips(audios, landmarks, valids)


def labelled_clips(
    lengths: list[int], audio_extra: list[int], num_vertices: int = 2
) -> PackedClips:
    """Clips whose values say where they come from: 1000 * (clip + 1) + frame (or sample)."""
    audios = [
        (1000.0 * (c + 1) + np.arange(n * 640 + extra) / 640.0).astype(np.float32)
        for c, (n, extra) in enumerate(zip(lengths, audio_extra, strict=True))
    ]
    landmarks = [
        np.broadcast_to(
            (1000.0 * (c + 1) + np.arange(n, dtype=np.float32))[:, None, None], (n, num_vertices, 3)
        ).astype(np.float32)
        for c, n in enumerate(lengths)
    ]
    return concatenate_clips(audios, landmarks, [np.ones(n, bool) for n in lengths])
