"""optax optimiser from the config: adam | adamw | lion, warmup + cosine, clipping, frozen parts."""

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


def make_optimizer(train: ml_collections.ConfigDict, params, frozen_prefixes: tuple[str, ...]):
    """The optax transformation; parameters under `frozen_prefixes` (top-level names) get no
    updates and no optimiser state (a frozen Whisper keeps no Adam moments)."""
    name = train.optimizer
    if name not in OPTIMIZERS:
        raise TalkmeshError(f"train.optimizer must be one of {OPTIMIZERS}, got {name!r}")
    schedule = learning_rate_schedule(train)
    kwargs = {"weight_decay": float(train.weight_decay)} if name in ("adamw", "lion") else {}
    base = getattr(optax, name)(schedule, **kwargs)
    if float(train.grad_clip) > 0:
        base = optax.chain(optax.clip_by_global_norm(float(train.grad_clip)), base)

    def label(path, _):
        top = getattr(path[1], "key", "") if len(path) > 1 else ""
        return "frozen" if top in frozen_prefixes else "train"

    labels = jax.tree_util.tree_map_with_path(label, params)
    return optax.multi_transform({"train": base, "frozen": optax.set_to_zero()}, labels)
