"""Dataset directory → packed directory (what the C++ batcher reads), clip by clip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.data.packed import write_packed_streaming


def pack_dataset(
    dataset: Dataset,
    out: str | os.PathLike,
    part: str | None = None,
    num_landmarks: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> Path:
    """Packs the clips of split `part` (all clips when None), keeping the first `num_landmarks`
    landmarks (468 drops the irises; default: all), and their blendshapes when every clip has
    them. Writes atomically; returns the directory."""
    from tqdm import tqdm

    names = dataset.names_in(part)
    if not names:
        where = f"split part {part!r}" if part else "the dataset"
        raise TalkmeshError(f"{dataset.root}: no clips in {where}")
    count = num_landmarks or dataset.info.num_landmarks
    if count not in dataset.vertex_counts or count > dataset.info.num_landmarks:
        raise ValueError(
            f"--landmarks {count}: the dataset has {dataset.info.num_landmarks}; use 468 or 478"
        )
    audio_lengths, frame_counts = [], []
    for name in names:
        audio, landmarks, valid = dataset.load_clip(name, mmap=True)
        audio_lengths.append(len(audio))
        frame_counts.append(len(valid))

    with_blendshapes = dataset.has_blendshapes and all(
        dataset.clip_path("blendshapes", name).exists() for name in names
    )

    def load(i: int) -> tuple[np.ndarray, ...]:
        audio, landmarks, valid = dataset.load_clip(names[i], mmap=True)
        if not with_blendshapes:
            return audio, landmarks[:, :count], valid
        blendshapes = dataset.load_blendshapes(names[i], mmap=True)
        if len(blendshapes) != len(valid):
            raise TalkmeshError(
                f"{dataset.clip_path('blendshapes', names[i])}: {len(blendshapes)} frames, "
                f"the clip has {len(valid)}"
            )
        return audio, landmarks[:, :count], valid, blendshapes

    with tqdm(total=sum(frame_counts), unit="frame", desc="pack", disable=not show_progress) as bar:
        return write_packed_streaming(
            out,
            names,
            audio_lengths,
            frame_counts,
            count,
            load,
            overwrite=overwrite,
            progress=bar.update,
            fps=dataset.info.fps,
            sample_rate=dataset.info.sample_rate,
            coordinate_frame=dataset.info.coordinate_frame,
            blendshape_names=dataset.info.blendshape_names if with_blendshapes else (),
        )
