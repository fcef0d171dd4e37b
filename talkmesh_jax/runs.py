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
    workdir: str | os.PathLike, checkpoint: str = "best"
) -> tuple[ml_collections.ConfigDict, Predictor, int]:
    """(config, predictor with the EMA parameters, step) of the `best` (lowest validation LVE)
    or `latest` checkpoint, or of a step number given as text."""
    from talkmesh_jax.train.checkpoint import Checkpointer, abstract_like
    from talkmesh_jax.train.data import target_reference
    from talkmesh_jax.train.setup import build

    workdir = Path(workdir)
    if not (workdir / "config.json").exists():
        raise TalkmeshError(f"{workdir}: not a training run (no config.json)")
    config = load_config(workdir / "config.json")
    _use_run_encoder_config(config, workdir)
    checkpointer = Checkpointer(workdir, int(config.checkpoint.keep), config.checkpoint.keep_best)
    try:
        if checkpoint == "best":
            step = checkpointer.best_step()
        elif checkpoint == "latest":
            step = checkpointer.latest_step()
        else:
            step = int(checkpoint)
            if step not in checkpointer.manager.all_steps():
                raise TalkmeshError(f"{workdir}: no checkpoint at step {step}")
        if step is None:
            raise TalkmeshError(f"{workdir}: no checkpoint yet (train first)")
        setup = build(config, load_pretrained=False)
        state, _ = checkpointer.restore(step, abstract_like(setup.state))
    finally:
        checkpointer.close()
    faces = {
        n: np.load(workdir / "reference" / f"{n}.npy") for n in ("mean_face", "close_mouth_face")
    }
    mean_blendshapes = workdir / "reference" / "mean_blendshapes.npy"
    predictor = Predictor(
        setup.model,
        state.ema_params,
        target_reference(faces, config.model.output_type),
        int(config.data.window_frames),
        int(config.eval.batch_size),
    )
    predictor.faces = faces
    predictor.mean_blendshapes = (
        np.load(mean_blendshapes) if mean_blendshapes.exists() else None
    )  # [K] of the train clips, the eval baseline
    return config, predictor, step
