"""Whisper features in Whisper's own context: 30 s chunks over the whole clip.

Whisper was trained on 30 s inputs (shorter audio zero-padded to 30 s). A 5 s window encoded
alone, or padded to 10 s, gives features that differ a lot from that (README, "Whisper's
context"); a clip encoded in 30 s chunks does not. Chunk k starts at position k · stride
(positions are 20 ms, 50 per second; a chunk is 1500) and overlaps its neighbours by a margin M on
each side, stride = 1500 − 2M: each chunk contributes its middle [M, 1500 − M) (the first from
its start, the last to the clip's end), so every position has at least M of context on both sides
where the clip has it. A clip up to 30 s is one chunk: exactly Whisper's padded encoding.

Audio streams in and features stream out (a chunk is encoded once its 30 s have arrived, or at
the end), so memory is flat for any length and offline and streamed features are identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.whisper.encoder import DTYPES, WhisperEncoder, WhisperEncoderConfig
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram

CHUNK_POSITIONS = 1500  # 30 s at 50 positions/s
SAMPLES_PER_POSITION = WHISPER_SAMPLES // CHUNK_POSITIONS  # 320
POSITIONS_PER_FRAME = SAMPLES_PER_FRAME // SAMPLES_PER_POSITION  # 2 at 25 fps


# Features are kept at float16 precision wherever a model reads them: the feature cache stores
# float16 (half the disk and memory), and export rounds its freshly encoded rows the same way, so
# training and inference see the same numbers.
STORED_DTYPE = np.float16


def as_stored(rows: np.ndarray) -> np.ndarray:
    """Feature rows rounded to the stored precision, as float32."""
    return np.asarray(rows, np.float32).astype(STORED_DTYPE).astype(np.float32)


def feature_rows(num_samples: int) -> int:
    """Feature rows of a clip of `num_samples` samples: two per video frame, T = max(1,
    round(S / 640)) frames (the frame count export and training use)."""
    return POSITIONS_PER_FRAME * max(1, round(num_samples / SAMPLES_PER_FRAME))


def fit_rows(features: np.ndarray, rows: int) -> np.ndarray:
    """Cut or extend (repeating the last row) features [n, D] to `rows` rows."""
    if len(features) >= rows:
        return features[:rows]
    return np.concatenate([features, np.repeat(features[-1:], rows - len(features), axis=0)])


class ChunkedWhisper:
    """Encodes audio [S] float32 16 kHz → features [2T, d_model] float32 in 30 s chunks with
    `margin_seconds` of overlap on each side (see module docstring)."""

    def __init__(
        self,
        config: WhisperEncoderConfig,
        params,
        margin_seconds: float = 5.0,
        dtype=jnp.float32,
    ):
        self.config, self.params = config, params
        self.margin = int(round(margin_seconds * CHUNK_POSITIONS / 30))
        self.stride = CHUNK_POSITIONS - 2 * self.margin
        module = WhisperEncoder(config, dtype)
        bins = config.num_mel_bins

        def encode(params, audio):  # [1, 480000] → [1500, D]
            mel = log_mel_spectrogram(audio, bins, WHISPER_SAMPLES)
            return module.apply({"params": params}, mel)[0].astype(jnp.float32)

        self._encode = jax.jit(encode)

    streams = False  # a chunk's features wait for its 30 s of audio

    @property
    def settings(self) -> dict:
        """What the features depend on besides the weights (the feature cache's key)."""
        return {"margin_positions": self.margin}

    @classmethod
    def of_model(cls, encoder_config, variables) -> ChunkedWhisper:
        """The encoder of a model whose `audio_encoder` (an `AudioEncoderConfig` with context
        'chunked') keeps its Whisper parameters in variables["params"]["audio_encoder"]."""
        config = WhisperEncoderConfig(**encoder_config.architecture)
        params = variables["params"]["audio_encoder"]["encoder"]
        dtype = DTYPES[encoder_config.dtype]
        return cls(config, params, encoder_config.chunk_margin_seconds, dtype)

    def encode_chunk(self, audio: np.ndarray) -> np.ndarray:
        """Up to 30 s of audio [n] (zero-padded to 30 s) → [1500, D] float32."""
        padded = np.zeros((1, WHISPER_SAMPLES), np.float32)
        padded[0, : len(audio)] = audio[:WHISPER_SAMPLES]
        return np.asarray(self._encode(self.params, jnp.asarray(padded)))

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """audio [S] → [2T, D] float32 (`feature_rows(S)` rows)."""
        return np.concatenate(list(self.stream([np.asarray(audio, np.float32)])))

    def stream(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Audio pieces (any sizes) → blocks of final feature rows [n, D], in order, as soon as
        each chunk's 30 s have arrived; `feature_rows(S)` rows in all."""
        step = self.stride * SAMPLES_PER_POSITION
        buffer, total, index, emitted = np.zeros(0, np.float32), 0, 0, 0
        for piece in chunks:
            total += len(piece)
            buffer = np.concatenate([buffer, np.asarray(piece, np.float32)])
            while len(buffer) >= WHISPER_SAMPLES:
                start = index * self.stride
                end = start + CHUNK_POSITIONS - self.margin
                yield self.encode_chunk(buffer)[emitted - start : end - start]
                emitted, index, buffer = end, index + 1, buffer[step:]
        rows = feature_rows(total)
        if emitted < rows:
            start = index * self.stride
            block = self.encode_chunk(buffer)[emitted - start : rows - start]
            yield fit_rows(block, rows - emitted)  # rounding may ask one past the last position
