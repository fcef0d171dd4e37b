"""`train_and_evaluate(config, workdir)`: the training loop, resumable from RUN/checkpoints."""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
from tqdm import tqdm

from talkmesh_jax import TalkmeshError
from talkmesh_jax.checkpoints import Checkpointer, abstract_like, has_checkpoint
from talkmesh_jax.config import config_to_dict, save_config
from talkmesh_jax.data.pipeline import make_pipeline
from talkmesh_jax.data.windows import create_batcher
from talkmesh_jax.fileio import atomic_path, read_json
from talkmesh_jax.models.faceformer.family import MODES
from talkmesh_jax.run_dir import RunDir
from talkmesh_jax.train.data import (
    augment_spec,
    augmented_copies,
    prepare,
    resolve_with_dataset,
    validation_batches,
    whisper_features,
    window_spec,
)
from talkmesh_jax.train.defaults import default_config
from talkmesh_jax.train.logs import MetricsLog
from talkmesh_jax.train.optim import stage_schedule
from talkmesh_jax.train.parallel import DataParallel, barrier, initialize_distributed, is_primary
from talkmesh_jax.train.setup import build
from talkmesh_jax.train.step import make_train_step
from talkmesh_jax.train.validation import Validator


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


DERIVED_KEYS = ("model.audio_encoder.architecture",)  # filled in by training itself


def _added_since(key: str, saved: dict, resolved: dict, defaults: dict) -> bool:
    """A key the run's config.json lacks (a newer talkmesh added it) that now has its default
    value (`defaults`, flattened), or is derived: not a change of the run's options."""
    if any(key == k or key.startswith(f"{k}.") for k in saved):
        return False
    if key.startswith(DERIVED_KEYS):
        return True
    return key in defaults and defaults[key] == resolved.get(key)


def fill_new_defaults(config: ml_collections.ConfigDict) -> None:
    """Adds the options a run's older config.json lacks, at their defaults (in place)."""

    def merge(target: ml_collections.ConfigDict, source: ml_collections.ConfigDict) -> None:
        for key, value in source.items():
            if key not in target:
                with target.unlocked():
                    target[key] = copy.deepcopy(value)
            elif isinstance(value, ml_collections.ConfigDict):
                if isinstance(target[key], ml_collections.ConfigDict):
                    merge(target[key], value)

    merge(config, default_config())


def check_or_save_config(
    config: ml_collections.ConfigDict, workdir: Path, force: bool = False
) -> None:
    """Writes RUN/config.json; a resumed run must have the same config. train.steps may change
    under a constant schedule; under the cosine one that would change the learning rate of the
    steps already taken, so it needs `force` (--force-resume)."""
    path = RunDir(workdir).config
    resolved = _flatten(config_to_dict(config))
    if path.exists():
        saved = _flatten(read_json(path))
        defaults = _flatten(config_to_dict(default_config()))
        for key in sorted(set(saved) | set(resolved)):
            if key == "train.steps" or _added_since(key, saved, resolved, defaults):
                continue
            if saved.get(key) != resolved.get(key):
                raise TalkmeshError(
                    f"{path}: the run in {workdir} has {key}={saved.get(key)!r}, now "
                    f"{resolved.get(key)!r}; resume with the same options or use a new --workdir"
                )
        steps = (saved.get("train.steps"), resolved.get("train.steps"))
        if config.train.schedule == "cosine" and steps[0] != steps[1] and not force:
            raise TalkmeshError(
                f"{path}: train.steps {steps[0]} → {steps[1]} changes the cosine learning rate of "
                "the steps already taken; pass --force-resume to resume anyway, or use a new "
                "--workdir"
            )
    if is_primary():
        save_config(config, path)


def save_encoder_config(config: ml_collections.ConfigDict, workdir: Path) -> None:
    """Copies the Whisper checkpoint's config.json into the run, so that opening the run later
    needs only the run (its checkpoints hold every weight), not the Hugging Face checkpoint."""
    encoder = config.model.audio_encoder
    if encoder.kind != "whisper" or encoder.checkpoint is None:
        return
    from talkmesh_jax.whisper.weights import resolve_checkpoint

    source = resolve_checkpoint(encoder.checkpoint) / "config.json"
    with atomic_path(RunDir(workdir).encoder_config_dir / "config.json") as tmp:
        tmp.write_bytes(source.read_bytes())


def resolve_encoder_architecture(config: ml_collections.ConfigDict) -> None:
    """Writes the Whisper encoder's shape into the config (and so into RUN/config.json)."""
    encoder = config.model.audio_encoder
    if encoder.kind == "whisper" and encoder.architecture is None:
        from talkmesh_jax.models.audio_encoder import AudioEncoderConfig, whisper_architecture

        values = whisper_architecture(AudioEncoderConfig.from_dict(config_to_dict(encoder)))
        with encoder.unlocked():
            encoder.architecture = values


def _warn_if_collapsed(validator: Validator, step: int, first_stage, primary: bool) -> None:
    """A categorical latent that collapsed (`models/meshtalk/codes.collapsed`), from the second
    half of the first stage on, gets a warning line above the progress bar."""
    if validator.last_usage is None or not primary or step < first_stage.end // 2:
        return
    from talkmesh_jax.models.meshtalk.codes import collapsed

    reason = collapsed(validator.last_usage["encoder"])
    if reason is not None:
        tqdm.write(f"talkmesh: warning: step {step}: the latent looks collapsed: {reason}")


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Refuses option values that cannot train (one line naming the option)."""
    if config.train.mode not in MODES:
        raise TalkmeshError(f"train.mode must be one of {MODES}, got {config.train.mode!r}")
    if config.data.fill_invalid not in ("mask", "reference"):
        raise TalkmeshError("data.fill_invalid must be 'mask' or 'reference'")
    if config.data.fill_invalid == "reference" and config.model.output_type == "pos":
        raise TalkmeshError(
            "data.fill_invalid=reference with model.output_type=pos would train invalid frames "
            "toward the origin (pos has no reference face); use data.fill_invalid=mask or a "
            "disp_* output type"
        )
    augment_spec(config)  # its own one-line errors
    if int(config.data.batch_size) % jax.process_count():
        raise TalkmeshError(
            f"data.batch_size {config.data.batch_size} must divide by {jax.process_count()} hosts"
        )


def _learning_rate(config: ml_collections.ConfigDict, stage, step: int) -> float:
    """The learning rate of `step` (1-based) in its `stage`."""
    return float(stage_schedule(config.train, stage)(step - 1 - stage.start))


def train_and_evaluate(
    config: ml_collections.ConfigDict,
    workdir: str | Path,
    show_progress: bool = True,
    force_resume: bool = False,
) -> dict:
    """Trains (or resumes) the run in `workdir`; returns the last logged metrics. A resume that
    would change the data, the reference faces or the schedule of steps already taken is refused
    unless `force_resume`."""
    initialize_distributed()
    fill_new_defaults(config)
    validate_config(config)
    dataset = resolve_with_dataset(config)
    resolve_encoder_architecture(config)
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    check_or_save_config(config, workdir, force_resume)
    resuming = has_checkpoint(workdir)
    primary = is_primary()
    if primary:
        save_encoder_config(config, workdir)
    else:  # process 0 packs the data first; the others then find it packed
        barrier("data prepared")
    data = prepare(config, dataset, workdir, resuming=resuming, force=force_resume)
    if primary:
        barrier("data prepared")
    checkpointer = Checkpointer(workdir, int(config.checkpoint.keep), config.checkpoint.keep_best)
    latest = checkpointer.latest_step()
    setup = build(config, load_pretrained=latest is None, data=data)
    state, start, data_state = setup.state, 0, None
    if latest is not None:
        state, data_state = checkpointer.restore(latest, abstract_like(state))
        start = latest
    copies = augmented_copies(config, data.train, show_progress and primary)
    features = whisper_features(
        config, setup.family, state.params, data, show_progress and primary, copies
    )
    per_process = int(config.data.batch_size) // jax.process_count()
    spec = window_spec(config, per_process, train=True)
    batcher = create_batcher(
        data.train,
        spec,
        int(config.data.num_threads),
        features=features["train"],
        copies=features["train_copies"] if features["train"] is not None else copies,
    )
    del copies  # feature models keep the copies' features only, not their audio
    if batcher.num_batches(0) == 0:
        raise TalkmeshError(f"{config.data.dataset}: too little training data for one batch")
    iterator = iter(make_pipeline(batcher, prefetch=int(config.data.prefetch)))
    if data_state is not None:
        # Processes advance in lockstep, so process 0's saved position is every process's;
        # each keeps its own shard (a different process count is refused by set_state).
        iterator.set_state({**data_state, "shard_index": jax.process_index()})
    runner = DataParallel(make_train_step(setup.family, setup.tx, config), config.train.parallel)
    device_state = runner.put_state(state)
    reference = jnp.asarray(data.reference)
    valid_batches = validation_batches(config, data.valid, features["valid"])
    validator = Validator(
        setup.family, valid_batches, data.reference, spec.window_frames, data.regions
    )
    log = MetricsLog(workdir, bool(config.log.tensorboard), start, enabled=primary)
    steps, record = setup.family.total_steps(), {}
    last_stage = setup.family.stages()[-1]
    bar = tqdm(total=steps, initial=start, unit="step", disable=not (show_progress and primary))
    tick, ticked = time.perf_counter(), start
    try:
        for step in range(start + 1, steps + 1):
            batch = runner.put_batch(next(iterator))
            device_state, metrics = runner.step(device_state, batch, reference)
            bar.update(1)
            if step % int(config.log.every) == 0 or step == steps:
                loss = float(metrics["loss"])
                if not math.isfinite(loss):
                    raise TalkmeshError(
                        f"loss became {loss} at step {step}; lower the learning rate"
                    )
                now = time.perf_counter()
                record = {
                    "loss": loss,
                    "grad_norm": float(metrics["grad_norm"]),
                    "learning_rate": _learning_rate(config, setup.family.stage_at(step), step),
                    "steps_per_s": (step - ticked) / (now - tick),
                }
                tick, ticked = now, step
                log.write(step, **record)
                bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            if step % int(config.checkpoint.every) == 0 or step == steps:
                host = runner.get_state(device_state)
                validation = validator.metrics(host.ema_params)
                if validation:
                    log.write(step, **validation)
                    record.update(validation)
                    _warn_if_collapsed(validator, step, setup.family.stages()[0], primary)
                # a checkpoint of an earlier stage (MeshTalk's untrained prior) is never "best"
                score = Validator.score(validation) if step > last_stage.start else None
                checkpointer.save(step, host, iterator.get_state(), host.ema_params, score)
    finally:
        bar.close()
        log.close()
        checkpointer.close()
    return record
