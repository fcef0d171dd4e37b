"""optax optimiser from the config: adam | adamw | lion, warmup + cosine, clipping, frozen parts.

Weight decay (adamw, lion) applies to the weight matrices and convolution kernels only: not to
biases, LayerNorm scales or positional embeddings, which decay would pull toward zero for no gain.
"""

from __future__ import annotations

import jax
import ml_collections
import optax

from talkmesh_jax import TalkmeshError

OPTIMIZERS = ("adam", "adamw", "lion")


def learning_rate_schedule(train: ml_collections.ConfigDict) -> optax.Schedule:
    """Linear warmup over `warmup_steps`, then constant or cosine decay to `end_lr_fraction`."""
    peak = float(train.learning_rate)
    warmup = int(train.warmup_steps)
    if train.schedule == "constant":
        after = optax.constant_schedule(peak)
    elif train.schedule == "cosine":
        after = optax.cosine_decay_schedule(
            peak, max(1, int(train.steps) - warmup), alpha=float(train.end_lr_fraction)
        )
    else:
        raise TalkmeshError(
            f"train.schedule must be 'constant' or 'cosine', got {train.schedule!r}"
        )
    if warmup <= 0:
        return after
    return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), after], [warmup])


def decay_mask(params):
    """True for the leaves weight decay applies to: `kernel`s of rank ≥ 2 (Dense, Conv)."""

    def decays(path, leaf) -> bool:
        name = getattr(path[-1], "key", "")
        return name == "kernel" and getattr(leaf, "ndim", 0) >= 2

    return jax.tree_util.tree_map_with_path(decays, params)


def make_optimizer(train: ml_collections.ConfigDict, params, frozen_prefixes: tuple[str, ...]):
    """The optax transformation; parameters under `frozen_prefixes` (top-level names) get no
    updates and no optimiser state (a frozen Whisper keeps no Adam moments)."""
    name = train.optimizer
    if name not in OPTIMIZERS:
        raise TalkmeshError(f"train.optimizer must be one of {OPTIMIZERS}, got {name!r}")
    schedule = learning_rate_schedule(train)
    kwargs = {}
    if name in ("adamw", "lion"):
        kwargs = {"weight_decay": float(train.weight_decay), "mask": decay_mask}
    base = getattr(optax, name)(schedule, **kwargs)
    if float(train.grad_clip) > 0:
        base = optax.chain(optax.clip_by_global_norm(float(train.grad_clip)), base)

    def label(path, _):
        top = getattr(path[1], "key", "") if len(path) > 1 else ""
        return "frozen" if top in frozen_prefixes else "train"

    labels = jax.tree_util.tree_map_with_path(label, params)
    return optax.multi_transform({"train": base, "frozen": optax.set_to_zero()}, labels)
