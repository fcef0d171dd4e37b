"""The encoder that turns a clip's audio into the features a model takes (contexts 'chunked' and
'trailing'), as training's feature cache, export and streaming all build it."""

from __future__ import annotations

from talkmesh_jax.whisper.context import ChunkedWhisper
from talkmesh_jax.whisper.trailing import TrailingWhisper


def feature_encoder(encoder_config, variables) -> ChunkedWhisper | TrailingWhisper:
    """`ChunkedWhisper` or `TrailingWhisper` of a model whose `audio_encoder` config
    (`AudioEncoderConfig`, `inputs_are_features`) keeps its Whisper parameters in
    variables["params"]["audio_encoder"]."""
    if encoder_config.context == "trailing":
        return TrailingWhisper.of_model(encoder_config, variables)
    return ChunkedWhisper.of_model(encoder_config, variables)
