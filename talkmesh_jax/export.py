"""`talkmesh export`: landmark sequences (and blendshape curves) for audio files with a trained run.

Per input: OUT.npy, landmarks [T, V, 3] float32 (the dataset's frame, cm), when the run predicts
landmarks; OUT.blendshapes.npy, [T, K] float32 coefficients in MediaPipe's order
(`facemesh.BLENDSHAPE_NAMES`), when it predicts blendshapes. 25 fps, T = round(seconds · 25).
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
    stems: dict[str, Path] = {}
    for path in files:
        if path.stem in stems:
            raise TalkmeshError(
                f"{path}: same name as {stems[path.stem].name}, both would write "
                f"{out / path.stem}.npy; rename one"
            )
        stems[path.stem] = path
    return [(path, out / f"{path.stem}.npy") for path in files]


def blendshapes_path(landmarks_path: Path) -> Path:
    """OUT.npy → OUT.blendshapes.npy"""
    return landmarks_path.with_name(f"{landmarks_path.stem}.blendshapes.npy")


def export_landmarks(
    workdir: str | os.PathLike,
    audio: str | os.PathLike,
    out: str | os.PathLike,
    checkpoint: str = "best",
    on_result: Callable[[Path, list[tuple[Path, int]] | None, str | None], None] | None = None,
    seed: int = 0,
    temperature: float = 1.0,
) -> tuple[list[tuple[Path, int]], dict[Path, str]]:
    """Writes the predictions for each input (see the module docstring). Returns the (file, T)
    pairs written (landmarks first) and {input: reason} of the inputs that failed; one bad input
    does not stop the others. `on_result(input, written or None, reason or None)` is called after
    each input. Each file is written atomically. `seed` and `temperature` drive sampling models
    (MeshTalk: the same seed gives the same face)."""
    pairs = audio_inputs(Path(audio), Path(out))
    _, predictor, _ = open_run(workdir, checkpoint, seed, temperature)
    written, failed = [], {}
    for source, target in pairs:
        try:
            files = _export_one(predictor, source, target)
        except TalkmeshError as err:
            failed[source] = str(err)
            if on_result is not None:
                on_result(source, None, str(err))
            continue
        written += files
        if on_result is not None:
            on_result(source, files, None)
    return written, failed


def _export_one(predictor, source: Path, target: Path) -> list[tuple[Path, int]]:
    predicted = predictor.predict_all(load_audio(source))
    paths = {"landmarks": target, "blendshapes": blendshapes_path(target)}
    files = []
    for name, values in predicted.items():
        with atomic_path(paths[name]) as tmp:
            np.save(tmp, values.astype(np.float32))
        files.append((paths[name], len(values)))
    return files
