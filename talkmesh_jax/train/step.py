"""The pure training step and the masked loss; free of pmap specifics.

Loss: weighted squared error of the predicted target vectors (`targets.py`: landmark MSE plus
`blendshape_weight` × blendshape MSE) over valid frames (mask [B, T]). Under data parallelism the
numerator and the frame count are summed over devices (`axis_name`), so any device count gives
the same loss and gradient as one device.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import optax

from talkmesh_jax.models.faceformer import FaceFormer
from talkmesh_jax.targets import TargetLayout, make_targets
from talkmesh_jax.train.state import TrainState

MODES = ("teacher_forcing", "autoregressive", "original_procedure")


def targets_and_mask(batch: dict, reference: jnp.ndarray, fill_invalid: str, layout: TargetLayout):
    """A batch → (targets [B, T, D], mask [B, T]); landmarks are measured from reference [V, 3].

    Invalid frames get zero targets (the reference face, zero blendshapes); with
    fill_invalid == "reference" they also count in the loss, as the original did.
    """
    targets = make_targets(batch, reference, layout, xp=jnp)
    mask = batch["mask"].astype(jnp.float32)
    if fill_invalid == "reference":
        mask = jnp.ones_like(mask)
    return targets, mask


def checkpoint_chunk(num_frames: int, setting: int) -> int:
    """Frames per rematerialised chunk of autoregressive training: `setting` (0: off), or, when
    it is −1, ⌈√T⌉ (the memory optimum)."""
    return math.ceil(math.sqrt(num_frames)) if setting < 0 else setting


def predict(
    model: FaceFormer, params, audio, targets, mode: str, dropout_key=None, remat_frames: int = -1
) -> jnp.ndarray:
    """[B, T, D] predictions: teacher-forced; fed back on themselves with the key/value cache
    (autoregressive; chunks of `remat_frames` rematerialised, see `checkpoint_chunk`); or the
    original's O(T²) recomputation of the prefix (original_procedure). Dropout is applied when
    `dropout_key` is given."""
    rngs = {"dropout": dropout_key} if dropout_key is not None else {}
    if mode == "teacher_forcing":
        return model.apply(params, audio, targets, rngs=rngs)
    frames = targets.shape[1]
    if mode == "autoregressive":
        chunk = checkpoint_chunk(frames, remat_frames)
        return model.apply(params, audio, frames, chunk, method=FaceFormer.generate, rngs=rngs)
    return model.apply(params, audio, frames, method=FaceFormer.generate_recompute, rngs=rngs)


def dropout_key(seed: int | None, step: jnp.ndarray, axis_name: str | None):
    """A key per (seed, step, device): resumed runs draw the same masks; None without dropout."""
    if seed is None:
        return None
    key = jax.random.fold_in(jax.random.key(seed), step)
    return key if axis_name is None else jax.random.fold_in(key, jax.lax.axis_index(axis_name))


def masked_error_sum(predictions, targets, mask, weights) -> jnp.ndarray:
    """Sum over valid frames (mask [B, T]) of the weighted squared error; weights [D]
    (`TargetLayout.weights`)."""
    squared = jnp.sum(weights * (predictions - targets) ** 2, axis=-1)
    return jnp.sum(squared * mask)


def ema_warmup(decay: float, step: jnp.ndarray) -> jnp.ndarray:
    """The EMA decay used at `step` (0-based): min(decay, (1 + step) / (10 + step)), so the
    average follows the parameters early (0.1 at the first step) instead of staying near the
    initial weights for ~1 / (1 − decay) steps."""
    step = jnp.asarray(step, jnp.float32)
    return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


def train_step(
    state: TrainState,
    batch: dict,
    reference: jnp.ndarray,
    *,
    model: FaceFormer,
    tx: optax.GradientTransformation,
    mode: str = "teacher_forcing",
    fill_invalid: str = "mask",
    blendshape_weight: float = 1.0,
    remat_frames: int = -1,
    ema_decay: float = 0.0,
    dropout_seed: int | None = None,
    axis_name: str | None = None,
) -> tuple[TrainState, dict]:
    """One optimiser update; returns the new state and {"loss", "grad_norm"} (global values).
    With `dropout_seed`, the model's dropout is on (masks from the seed, step and device)."""
    layout = model.config.layout
    targets, mask = targets_and_mask(batch, reference, fill_invalid, layout)
    weights = jnp.asarray(layout.weights(blendshape_weight))
    count = jnp.sum(mask)
    total = count if axis_name is None else jax.lax.psum(count, axis_name)
    total = jnp.maximum(total, 1.0)

    key = dropout_key(dropout_seed, state.step, axis_name)

    def loss_fn(params):
        predictions = predict(model, params, batch["audio"], targets, mode, key, remat_frames)
        return masked_error_sum(predictions, targets, mask, weights) / total

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    if axis_name is not None:
        loss = jax.lax.psum(loss, axis_name)
        grads = jax.lax.psum(grads, axis_name)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    if ema_decay > 0:
        decay = ema_warmup(ema_decay, state.step)
        ema = optax.incremental_update(params, state.ema_params, 1.0 - decay)
    else:
        ema = params
    new_state = state.replace(
        step=state.step + 1, params=params, opt_state=opt_state, ema_params=ema
    )
    return new_state, {"loss": loss, "grad_norm": optax.tree.norm(grads)}


def make_train_step(model, tx, config) -> partial:
    """The step with its static arguments bound from the config (no axis yet)."""
    return partial(
        train_step,
        model=model,
        tx=tx,
        mode=config.train.mode,
        fill_invalid=config.data.fill_invalid,
        blendshape_weight=float(config.train.blendshape_weight),
        remat_frames=int(config.train.remat_frames),
        ema_decay=float(config.train.ema_decay),
        dropout_seed=int(config.train.seed) if float(config.model.dropout) > 0 else None,
    )
