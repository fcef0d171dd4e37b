"""Opening a trained run (its files: `run_dir.RunDir`) for inference."""

from __future__ import annotations

import os
from pathlib import Path

import ml_collections
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.config import load_config
from talkmesh_jax.inference.predictor import Predictor
from talkmesh_jax.run_dir import RunDir


def _use_run_encoder_config(config: ml_collections.ConfigDict, run: RunDir) -> None:
    local = run.encoder_config_dir
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

    workdir, run = Path(workdir), RunDir(workdir)
    if not run.config.exists():
        raise TalkmeshError(f"{workdir}: not a training run (no config.json)")
    config = load_config(run.config)
    _use_run_encoder_config(config, run)
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
    faces = {n: np.load(run.reference(n)) for n in ("mean_face", "close_mouth_face")}
    mean_blendshapes = run.reference("mean_blendshapes")
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
