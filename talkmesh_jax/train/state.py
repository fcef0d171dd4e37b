"""The training state: a plain pytree, so pmap, jit and orbax take it as it is."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class TrainState:
    """step: int32 scalar; params and ema_params: the model's variables ({"params": …});
    opt_state: optax state. ema_params equals params when EMA is off (decay 0)."""

    step: jnp.ndarray
    params: Any
    opt_state: Any
    ema_params: Any


def create_state(params, tx) -> TrainState:
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        opt_state=tx.init(params),
        ema_params=jax.tree.map(jnp.copy, params),
    )
