"""The pure training step of any model family; free of pmap specifics.

The family gives (error sum, count) of its loss on a device's part of the batch
(`ModelFamily.loss`); under data parallelism both are summed over devices (`axis_name`), so any
device count gives the same loss and gradient as one device.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import optax

from talkmesh_jax.models.family import ModelFamily
from talkmesh_jax.train.state import TrainState


def step_key(seed: int, step: jnp.ndarray, axis_name: str | None):
    """A key per (seed, step, device): resumed runs draw the same dropout masks and samples."""
    key = jax.random.fold_in(jax.random.key(seed), step)
    return key if axis_name is None else jax.random.fold_in(key, jax.lax.axis_index(axis_name))


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
    family: ModelFamily,
    tx: optax.GradientTransformation,
    ema_decay: float = 0.0,
    seed: int = 0,
    axis_name: str | None = None,
) -> tuple[TrainState, dict]:
    """One optimiser update; returns the new state and {"loss", "grad_norm"} (global values)."""
    key = step_key(seed, state.step, axis_name)

    def loss_fn(params):
        error, count = family.loss(params, batch, reference, state.step, key)
        total = count if axis_name is None else jax.lax.psum(count, axis_name)
        return error / jnp.maximum(total, 1.0)

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


def make_train_step(family: ModelFamily, tx, config) -> partial:
    """The step with its static arguments bound from the config (no axis yet)."""
    return partial(
        train_step,
        family=family,
        tx=tx,
        ema_decay=float(config.train.ema_decay),
        seed=int(config.train.seed),
    )
