"""A config's model family with fresh variables, or their shapes without computing them: what
training and inference (which never needs the optimiser) both start from."""

from __future__ import annotations

import jax

from talkmesh_jax.models.family import ModelFamily
from talkmesh_jax.models.registry import build_family

__all__ = ["abstract_variables", "build_family", "init_variables"]


def init_variables(family: ModelFamily, window_frames: int, seed: int, data=None):
    """Freshly initialised variables ({"params": …}) as host arrays, with the statistics of
    the run's `data` (training clips, face regions) where the family keeps some."""
    variables = jax.jit(lambda key: family.init(key, window_frames))(jax.random.key(seed))
    return family.fit_statistics(jax.device_get(variables), data)


def abstract_variables(family: ModelFamily, window_frames: int):
    """The variables' ShapeDtypeStructs, traced without computing (or allocating) anything."""
    return family.abstract_variables(window_frames)
