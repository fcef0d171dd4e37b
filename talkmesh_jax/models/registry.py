"""Choosing the model family a config names (`model.family`): the one place that knows every
family, so the interface (`models/family.py`) imports none of them."""

from __future__ import annotations

import ml_collections

from talkmesh_jax import TalkmeshError
from talkmesh_jax.models.family import ModelFamily

FAMILIES = ("faceformer", "meshtalk")


def family_name(config: ml_collections.ConfigDict) -> str:
    name = config.model.get("family", "faceformer")
    if name not in FAMILIES:
        raise TalkmeshError(f"model.family must be one of {FAMILIES}, got {name!r}")
    return name


def build_family(config: ml_collections.ConfigDict) -> ModelFamily:
    """The family `config.model.family` names, built from the config (bad fields: one line)."""
    name = family_name(config)
    if name == "meshtalk":
        from talkmesh_jax.models.meshtalk.family import MeshTalkFamily

        return MeshTalkFamily.from_config(config)
    from talkmesh_jax.models.faceformer.family import FaceFormerFamily

    return FaceFormerFamily.from_config(config)
