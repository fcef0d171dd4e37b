"""Opening a trained run (RUN/config.json, RUN/reference/, RUN/checkpoints/) for inference."""

from __future__ import annotations

import os
from pathlib import Path

import ml_collections
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.config import load_config
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.inference import Predictor

ENCODER_CONFIG_DIR = "audio_encoder"  # RUN/audio_encoder/config.json: the Whisper checkpoint's


def beside_run(workdir: str | os.PathLike, suffix: str) -> Path:
    """Default output of a command that reads a run: next to RUN, never inside it
    (runs/tiny → runs/tiny.<suffix>)."""
    workdir = Path(workdir).absolute()
    return workdir.parent / f"{workdir.name}.{suffix}"


def save_encoder_config(config: ml_collections.ConfigDict, workdir: Path) -> None:
    """Copies the Whisper checkpoint's config.json into the run, so that opening the run later
    needs only the run (its checkpoints hold every weight), not the Hugging Face checkpoint."""
    encoder = config.model.audio_encoder
    if encoder.kind != "whisper" or encoder.checkpoint is None:
        return
    from talkmesh_jax.models.whisper_weights import resolve_checkpoint

    source = resolve_checkpoint(encoder.checkpoint) / "config.json"
    with atomic_path(workdir / ENCODER_CONFIG_DIR / "config.json") as tmp:
        tmp.write_bytes(source.read_bytes())


def _use_run_encoder_config(config: ml_collections.ConfigDict, workdir: Path) -> None:
    local = workdir / ENCODER_CONFIG_DIR
    if config.model.audio_encoder.checkpoint is not None and (local / "config.json").is_file():
        config.model.audio_encoder.checkpoint = str(local)


def open_run(
    workdir: str | os.PathLike,
    checkpoint: str = "best",
    seed: int = 0,
    temperature: float = 1.0,
) -> tuple[ml_collections.ConfigDict, Predictor, int]:
    """(config, predictor with the inference parameters, step) of the `best` (lowest validation
    score) or `latest` checkpoint, or of a step number given as text; `seed` and `temperature`
    drive the sampling of families that sample (MeshTalk).

    Read-only: nothing in the run is created, changed or deleted (a checkpoint that a running
    `talkmesh train` is writing stays as it is), only the inference parameters are read, and the
    training package (optimiser, state, step) is not imported.
    """
    from talkmesh_jax.checkpoints import Checkpointer
    from talkmesh_jax.models.build import abstract_variables, build_family
    from talkmesh_jax.targets import target_reference

    workdir = Path(workdir)
    if not (workdir / "config.json").exists():
        raise TalkmeshError(f"{workdir}: not a training run (no config.json)")
    config = load_config(workdir / "config.json")
    _use_run_encoder_config(config, workdir)
    family = build_family(config)
    window = int(config.data.window_frames)
    checkpointer = Checkpointer(
        workdir, int(config.checkpoint.keep), config.checkpoint.keep_best, read_only=True
    )
    try:
        step = _checkpoint_step(checkpointer, workdir, checkpoint)
        params = checkpointer.restore_inference(step, abstract_variables(family, window))
    finally:
        checkpointer.close()
    faces = {
        n: np.load(workdir / "reference" / f"{n}.npy") for n in ("mean_face", "close_mouth_face")
    }
    mean_blendshapes = workdir / "reference" / "mean_blendshapes.npy"
    predictor = Predictor(
        family,
        params,
        target_reference(faces, config.model.output_type),
        window,
        int(config.eval.batch_size),
        seed=seed,
        temperature=temperature,
    )
    predictor.faces = faces
    predictor.mean_blendshapes = (
        np.load(mean_blendshapes) if mean_blendshapes.exists() else None
    )  # [K] of the train clips, the eval baseline
    return config, predictor, step


def _checkpoint_step(checkpointer, workdir: Path, checkpoint: str) -> int:
    if checkpoint == "best":
        step = checkpointer.best_step()
    elif checkpoint == "latest":
        step = checkpointer.latest_step()
    else:
        try:
            step = int(checkpoint)
        except ValueError:
            raise TalkmeshError(
                f"--checkpoint {checkpoint!r}: use best, latest or a step number"
            ) from None
        if step not in checkpointer.manager.all_steps():
            raise TalkmeshError(f"{workdir}: no checkpoint at step {step}")
    if step is None:
        raise TalkmeshError(f"{workdir}: no checkpoint yet (train first)")
    return step
