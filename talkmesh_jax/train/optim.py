"""optax optimiser from the config: adam | adamw | lion, warmup + cosine, clipping, frozen parts.

Weight decay (adamw, lion) applies to the weight matrices and convolution kernels only: not to
biases, LayerNorm scales or positional embeddings, which decay would pull toward zero for no gain.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from talkmesh_jax import TalkmeshError

OPTIMIZERS = ("adam", "adamw", "lion")


def learning_rate_schedule(
    train: ml_collections.ConfigDict, steps: int | None = None, peak: float | None = None
) -> optax.Schedule:
    """Linear warmup over `warmup_steps`, then constant or cosine decay to `end_lr_fraction`
    over `steps` (default train.steps) from `peak` (default train.learning_rate)."""
    peak = float(train.learning_rate) if peak is None else float(peak)
    steps = int(train.steps) if steps is None else int(steps)
    warmup = int(train.warmup_steps)
    if train.schedule == "constant":
        after = optax.constant_schedule(peak)
    elif train.schedule == "cosine":
        after = optax.cosine_decay_schedule(
            peak, max(1, steps - warmup), alpha=float(train.end_lr_fraction)
        )
    else:
        raise TalkmeshError(
            f"train.schedule must be 'constant' or 'cosine', got {train.schedule!r}"
        )
    if warmup <= 0:
        return after
    return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), after], [warmup])


def stage_schedule(train: ml_collections.ConfigDict, stage) -> optax.Schedule:
    """The learning rate over a training stage's own steps (`models.family.Stage`: its length
    and peak), counted from the stage's first step."""
    return learning_rate_schedule(train, stage.steps, stage.learning_rate)


def decay_mask(params):
    """True for the leaves weight decay applies to: `kernel`s of rank ≥ 2 (Dense, Conv)."""

    def decays(path, leaf) -> bool:
        name = getattr(path[-1], "key", "")
        return name == "kernel" and getattr(leaf, "ndim", 0) >= 2

    return jax.tree_util.tree_map_with_path(decays, params)


def _base_optimizer(train, schedule) -> optax.GradientTransformation:
    name = train.optimizer
    if name not in OPTIMIZERS:
        raise TalkmeshError(f"train.optimizer must be one of {OPTIMIZERS}, got {name!r}")
    kwargs = {}
    if name in ("adamw", "lion"):
        kwargs = {"weight_decay": float(train.weight_decay), "mask": decay_mask}
    base = getattr(optax, name)(schedule, **kwargs)
    if float(train.grad_clip) > 0:
        base = optax.chain(optax.clip_by_global_norm(float(train.grad_clip)), base)
    return base


class ActiveState(NamedTuple):
    count: jnp.ndarray  # int32: updates seen (active or not)
    inner: optax.OptState


def active_between(
    inner: optax.GradientTransformation, start: int, end: int
) -> optax.GradientTransformation:
    """`inner` for updates start ≤ n < end (n counts every update from 0); zero updates and an
    untouched inner state otherwise, so a stage's moments and schedule begin when it does."""

    def init(params):
        return ActiveState(jnp.zeros((), jnp.int32), inner.init(params))

    def update(updates, state, params=None):
        active = (state.count >= start) & (state.count < end)

        def run(_):
            return inner.update(updates, state.inner, params)

        def skip(_):
            return jax.tree.map(jnp.zeros_like, updates), state.inner

        new_updates, new_inner = jax.lax.cond(active, run, skip, None)
        return new_updates, ActiveState(state.count + 1, new_inner)

    return optax.GradientTransformation(init, update)


def _top_level_labels(params, label_of):
    def label(path, _):
        top = getattr(path[1], "key", "") if len(path) > 1 else ""
        return label_of(top)

    return jax.tree_util.tree_map_with_path(label, params)


def make_optimizer(
    train: ml_collections.ConfigDict,
    params,
    frozen_prefixes: tuple[str, ...],
    stages: list | None = None,
):
    """The optax transformation; parameters under `frozen_prefixes` (top-level names) get no
    updates and no optimiser state (a frozen Whisper keeps no Adam moments). Several `stages`
    (`models.family.Stage`): each updates its own parameters during its own steps, with its own
    schedule (warmup, decay over its steps) and moments."""
    if not stages or len(stages) == 1:
        base = _base_optimizer(train, learning_rate_schedule(train))
        labels = _top_level_labels(
            params, lambda top: "frozen" if top in frozen_prefixes else "train"
        )
        return optax.multi_transform({"train": base, "frozen": optax.set_to_zero()}, labels)
    transforms = {"frozen": optax.set_to_zero()}
    for stage in stages:
        transforms[stage.name] = active_between(
            _base_optimizer(train, stage_schedule(train, stage)), stage.start, stage.end
        )
    open_stage = [s.name for s in stages if s.trainable is None]

    def label_of(top: str) -> str:
        if top in frozen_prefixes:
            return "frozen"
        for stage in stages:
            if stage.trainable is not None and top in stage.trainable:
                return stage.name
        return open_stage[0] if open_stage else "frozen"

    return optax.multi_transform(transforms, _top_level_labels(params, label_of))
