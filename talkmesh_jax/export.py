"""`talkmesh export`: landmark sequences for audio files with a trained run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.media import AUDIO_SUFFIXES, VIDEO_SUFFIXES, load_audio
from talkmesh_jax.runs import open_run


def audio_inputs(source: Path, out: Path) -> list[tuple[Path, Path]]:
    """(input, output .npy) pairs: one file, or every audio/video file of a folder."""
    if source.is_file():
        if out.suffix != ".npy":
            raise TalkmeshError(f"{out}: the output of one audio file is a .npy file")
        return [(source, out)]
    if not source.is_dir():
        raise TalkmeshError(f"{source}: no such file or directory")
    suffixes = AUDIO_SUFFIXES + VIDEO_SUFFIXES
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise TalkmeshError(f"{source}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
    if out.exists() and not out.is_dir():
        raise TalkmeshError(f"{out}: must be a folder when --audio is a folder")
    return [(path, out / f"{path.stem}.npy") for path in files]


def export_landmarks(
    workdir: str | os.PathLike,
    audio: str | os.PathLike,
    out: str | os.PathLike,
    checkpoint: str = "best",
) -> list[tuple[Path, int]]:
    """Writes [T, V, 3] float32 absolute landmarks (dataset frame, 25 fps, T = round(seconds·25))
    per input; returns (output, T) pairs. Each file is written atomically."""
    pairs = audio_inputs(Path(audio), Path(out))
    _, predictor, _ = open_run(workdir, checkpoint)
    written = []
    for source, target in pairs:
        landmarks = predictor.predict(load_audio(source))
        with atomic_path(target) as tmp:
            np.save(tmp, landmarks.astype(np.float32))
        written.append((target, len(landmarks)))
    return written
