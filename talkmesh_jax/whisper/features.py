"""The encoder that turns a clip's audio into the features a model takes (contexts 'chunked' and
'trailing'), as training's feature cache, export and streaming all build it."""

from __future__ import annotations

from dataclasses import replace

from talkmesh_jax.whisper.context import ChunkedWhisper
from talkmesh_jax.whisper.trailing import TrailingWhisper


def feature_encoder(
    encoder_config, variables, context: str | None = None
) -> ChunkedWhisper | TrailingWhisper:
    """`ChunkedWhisper` or `TrailingWhisper` of a model whose `audio_encoder` config
    (`AudioEncoderConfig`, `inputs_are_features`) keeps its Whisper parameters in
    variables["params"]["audio_encoder"]; `context`: one of the config's `contexts` (None: its
    own)."""
    if context is not None:
        encoder_config = replace(encoder_config, context=context)
    if encoder_config.context == "trailing":
        return TrailingWhisper.of_model(encoder_config, variables)
    return ChunkedWhisper.of_model(encoder_config, variables)


def feature_encoders(encoder_config, variables) -> dict[str, ChunkedWhisper | TrailingWhisper]:
    """{context: its feature encoder} for every context the model trains on, its own first."""
    return {c: feature_encoder(encoder_config, variables, c) for c in encoder_config.contexts}
