"""Choosing the audio encoder by config: Whisper (pretrained or random) or the light conv one."""

from __future__ import annotations

from dataclasses import dataclass, fields

import flax.linen as nn

from talkmesh_jax import TalkmeshError
from talkmesh_jax.models.conv_audio import ConvAudioEncoder
from talkmesh_jax.whisper.encoder import (
    CONTEXTS,
    DTYPES,
    FEATURE_CONTEXTS,
    WHISPER_SIZES,
    WhisperAudioEncoder,
    WhisperEncoderConfig,
)


@dataclass(frozen=True)
class AudioEncoderConfig:
    """kind: 'whisper' or 'conv'. checkpoint: a Whisper directory (Hugging Face or CTranslate2) or
    cached model id (None: random weights of `size`). context: what Whisper sees — 'window' (the
    training window alone), 'padded' (the window padded to 30 s, as the original project did) or
    'chunked' (the whole clip in Whisper's own 30 s chunks, overlapping by `chunk_margin_seconds`
    on each side, encoded once and cached; needs `frozen`) or 'trailing' (the streaming context:
    each hop of `trailing_hop_frames` frames encoded with the `trailing_seconds` of audio that end
    `trailing_lookahead_frames` after it; cached, needs `frozen`; `whisper/trailing.py`).
    extra_contexts: more feature contexts the model also trains on (each batch row hears one of
    them or `context`), so one run can export with whichever is cheapest for a clip and stream
    with 'trailing' (`whisper/features.py`); `context` stays the run's own (validation, eval).
    frozen: no gradients into the encoder. dtype: compute precision ('float32' or 'bfloat16').
    gate_dbfs: the log-mel's noise gate, both kinds: 25 ms frames quieter than this (RMS, dBFS)
    are digital silence, so faint hiss and silence look alike (None: off, Whisper's own front end).
    conv_*: the light conv encoder's widths and the audio window averaged per frame (seconds).
    architecture: the Whisper encoder's shape (`WhisperEncoderConfig` fields), resolved from the
    checkpoint's config.json or `size` when training starts and saved in the run's config, so
    building the model never reads a file (None: resolved on each build)."""

    kind: str = "whisper"
    checkpoint: str | None = None
    size: str = "small"
    context: str = "window"
    extra_contexts: tuple[str, ...] = ()
    chunk_margin_seconds: float = 5.0
    trailing_seconds: float = 2.0
    trailing_hop_frames: int = 2
    trailing_lookahead_frames: int = 2
    frozen: bool = True
    dtype: str = "float32"
    gate_dbfs: float | None = None
    conv_channels: int = 128
    conv_features: int = 128
    conv_window_seconds: float = 1.0
    architecture: dict | None = None

    @classmethod
    def from_dict(cls, values: dict, source: str = "audio_encoder") -> AudioEncoderConfig:
        values = _legacy_padding(values)
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise TalkmeshError(
                    f"{source}: unknown field {key!r} (known: {', '.join(sorted(known))})"
                )
        if "extra_contexts" in values:
            values = {**values, "extra_contexts": tuple(values["extra_contexts"] or ())}
        config = cls(**values)
        if config.kind not in ("whisper", "conv"):
            raise TalkmeshError(f"{source}: kind must be 'whisper' or 'conv', got {config.kind!r}")
        if config.dtype not in DTYPES:
            raise TalkmeshError(
                f"{source}: dtype must be one of {sorted(DTYPES)}, got {config.dtype!r}"
            )
        if config.context not in CONTEXTS:
            raise TalkmeshError(
                f"{source}: context must be one of {CONTEXTS}, got {config.context!r}"
            )
        if config.inputs_are_features and not config.frozen:
            raise TalkmeshError(
                f"{source}: context {config.context!r} encodes clips once, so it needs "
                "frozen: true (fine-tune with context 'window' or 'padded')"
            )
        if not 0 <= config.chunk_margin_seconds < 15:
            raise TalkmeshError(f"{source}: chunk_margin_seconds must be in [0, 15)")
        _check_trailing(config, source)
        _check_extra_contexts(config, source)
        if config.gate_dbfs is not None and not -120 <= config.gate_dbfs <= 0:
            raise TalkmeshError(
                f"{source}: gate_dbfs must be in [-120, 0] dBFS (or null), got {config.gate_dbfs}"
            )
        if config.checkpoint is None and config.size not in WHISPER_SIZES:
            raise TalkmeshError(
                f"{source}: size must be one of {sorted(WHISPER_SIZES)}, got {config.size!r}"
            )
        return config

    @property
    def inputs_are_features(self) -> bool:
        """Whether the model takes precomputed Whisper features instead of audio ('chunked',
        'trailing')."""
        return self.kind == "whisper" and self.context in FEATURE_CONTEXTS

    @property
    def contexts(self) -> tuple[str, ...]:
        """The contexts the model trains on: its own first, then `extra_contexts`."""
        return (self.context, *self.extra_contexts)


def _check_extra_contexts(config: AudioEncoderConfig, source: str) -> None:
    """Extra contexts are other feature contexts of a model that takes features."""
    extra = config.extra_contexts
    if not extra:
        return
    if not config.inputs_are_features:
        raise TalkmeshError(
            f"{source}: extra_contexts needs a Whisper model in a feature context "
            f"({' or '.join(FEATURE_CONTEXTS)}), this one is {config.kind} {config.context!r}"
        )
    for name in extra:
        if name not in FEATURE_CONTEXTS or name == config.context or extra.count(name) > 1:
            raise TalkmeshError(
                f"{source}: extra_contexts must name other feature contexts than "
                f"{config.context!r} once each ({', '.join(FEATURE_CONTEXTS)}), got {list(extra)}"
            )


def _check_trailing(config: AudioEncoderConfig, source: str) -> None:
    """The trailing context's span holds its hop and look-ahead, within Whisper's 30 s."""
    span = round(config.trailing_seconds * 25)
    hop, ahead = config.trailing_hop_frames, config.trailing_lookahead_frames
    if not (hop >= 1 and ahead >= 0 and hop + ahead <= span <= 750):
        raise TalkmeshError(
            f"{source}: trailing context needs trailing_hop_frames ≥ 1, "
            "trailing_lookahead_frames ≥ 0 and their sum within trailing_seconds (≤ 30 s); got "
            f"{hop}, {ahead} and {config.trailing_seconds} s ({span} frames)"
        )


def _legacy_padding(values: dict) -> dict:
    """Runs saved before `context` existed have `pad_to_30s`: true → 'padded', false →
    'window' (their `context`, if any, is the default that resuming filled in)."""
    if "pad_to_30s" not in values:
        return values
    values = dict(values)
    values["context"] = "padded" if values.pop("pad_to_30s") else "window"
    return values


def model_fields(cls, values: dict, source: str) -> tuple[dict, AudioEncoderConfig]:
    """The `values` of a model's config dataclass `cls` without `audio_encoder`, and that section
    built; an unknown field is a one-line error naming `source` (and `model.audio_encoder`)."""
    values = dict(values)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TalkmeshError(f"{source}: unknown field {unknown[0]!r} (known: {sorted(known)})")
    encoder = AudioEncoderConfig.from_dict(
        dict(values.pop("audio_encoder", {})), "model.audio_encoder"
    )
    return values, encoder


def whisper_architecture(config: AudioEncoderConfig) -> dict:
    """The Whisper encoder's shape: the checkpoint's config.json, or the table entry of `size`."""
    if config.checkpoint is not None:
        from talkmesh_jax.whisper.weights import load_whisper_config

        return load_whisper_config(config.checkpoint).as_dict()
    return WHISPER_SIZES[config.size].as_dict()


def build_audio_encoder(
    config: AudioEncoderConfig, load_weights: bool = True
) -> tuple[nn.Module, dict | None]:
    """(module, pretrained params or None). The module maps audio [B, S] → features [B, T', D]:
    Whisper at 50 positions/s (D = d_model), conv at 25 frames/s (D = conv_features).
    With `load_weights=False` a checkpoint's config.json is read but not its weights."""
    dtype = DTYPES[config.dtype]
    if config.kind == "conv":
        encoder = ConvAudioEncoder(
            config.conv_channels,
            config.conv_features,
            window_seconds=config.conv_window_seconds,
            dtype=dtype,
            gate_dbfs=config.gate_dbfs,
        )
        return encoder, None
    params = None
    if config.architecture is not None and not load_weights:
        whisper = WhisperEncoderConfig(**config.architecture)
    elif config.checkpoint is not None and load_weights:
        from talkmesh_jax.whisper.weights import load_whisper_encoder

        whisper, encoder_params = load_whisper_encoder(config.checkpoint)
        params = {"encoder": encoder_params}
    elif config.checkpoint is not None:
        from talkmesh_jax.whisper.weights import load_whisper_config

        whisper = load_whisper_config(config.checkpoint)
    else:
        whisper = WHISPER_SIZES[config.size]
    module = WhisperAudioEncoder(whisper, config.context, config.frozen, dtype, config.gate_dbfs)
    return module, params
