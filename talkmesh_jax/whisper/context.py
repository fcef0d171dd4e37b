"""Whisper features in Whisper's own context: 30 s chunks over the whole clip.

Whisper was trained on 30 s inputs (shorter audio zero-padded to 30 s). A 5 s window encoded
alone, or padded to 10 s, gives features that differ a lot from that (README, "Whisper's
context"); a clip encoded in 30 s chunks does not. Chunk k starts at position k · stride
(positions are 20 ms, 50 per second; a chunk is 1500) and overlaps its neighbours by a margin M on
each side, stride = 1500 − 2M: each chunk contributes its middle [M, 1500 − M) (the first from
its start, the last to the clip's end), so every position has at least M of context on both sides
where the clip has it. A clip up to 30 s is one chunk: exactly Whisper's padded encoding.

Audio streams in and features stream out (chunks are encoded once their 30 s have arrived, up to
`batch_chunks` of them in one encoder call, or at the end), so memory is flat for any length and
offline and streamed features are identical. `encode_many` batches the chunks of many clips the
same way (the feature cache). On the CPU one chunk per call is fastest (measured on 2 cores, 4
chunks: batches of 2 cost 1.27× and of 4 1.54× the time of single calls with tiny's shape, 1.04× and
1.20× with base's), so batches are formed on accelerators only (`default_batch_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.whisper.encoder import (
    DTYPES,
    WhisperEncoder,
    WhisperEncoderConfig,
    encoder_flops,
)
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram

CHUNK_POSITIONS = 1500  # 30 s at 50 positions/s
GPU_BATCH_CHUNKS = 4  # chunks per encoder call off the CPU (a partial batch: next power of two)


def default_batch_chunks() -> int:
    """Chunks per encoder call: 1 on the CPU (batching is slower there), else GPU_BATCH_CHUNKS."""
    return 1 if jax.default_backend() == "cpu" else GPU_BATCH_CHUNKS


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


def bucket_size(count: int, batch_size: int) -> int:
    """The batch a partial batch of `count` items runs at: the next power of two, at most
    `batch_size` (so a few shapes are compiled, not one per count)."""
    return min(batch_size, 1 << max(0, count - 1).bit_length())


def gate_setting(gate_dbfs: float | None) -> dict:
    """The noise gate as a feature-cache key: nothing when off, so caches made before the gate
    existed keep their key."""
    return {} if gate_dbfs is None else {"gate_dbfs": float(gate_dbfs)}


def batched_flops(calls: int, batch: int, flops_per_item: float) -> float:
    """FLOPs of `calls` items run in batches of `batch`, a partial batch at its bucket size."""
    full, rest = divmod(calls, batch)
    return (full * batch + (bucket_size(rest, batch) if rest else 0)) * flops_per_item


def fit_rows(features: np.ndarray, rows: int) -> np.ndarray:
    """Cut or extend (repeating the last row) features [n, D] to `rows` rows."""
    if len(features) >= rows:
        return features[:rows]
    return np.concatenate([features, np.repeat(features[-1:], rows - len(features), axis=0)])


class ChunkedWhisper:
    """Encodes audio [S] float32 16 kHz → features [2T, d_model] float32 in 30 s chunks with
    `margin_seconds` of overlap on each side (see module docstring); `gate_dbfs`: the log-mel's
    noise gate (None: off)."""

    def __init__(
        self,
        config: WhisperEncoderConfig,
        params,
        margin_seconds: float = 5.0,
        dtype=jnp.float32,
        gate_dbfs: float | None = None,
        batch_chunks: int | None = None,
    ):
        self.config, self.params, self.gate_dbfs = config, params, gate_dbfs
        self.batch_chunks = batch_chunks or default_batch_chunks()
        self.margin = int(round(margin_seconds * CHUNK_POSITIONS / 30))
        self.stride = CHUNK_POSITIONS - 2 * self.margin
        module = WhisperEncoder(config, dtype)
        bins = config.num_mel_bins

        def encode(params, audio):  # [B, 480000] → [B, 1500, D]
            mel = log_mel_spectrogram(audio, bins, WHISPER_SAMPLES, gate_dbfs)
            return module.apply({"params": params}, mel).astype(jnp.float32)

        self._encode = jax.jit(encode)

    streams = False  # a chunk's features wait for its 30 s of audio

    @property
    def settings(self) -> dict:
        """What the features depend on besides the weights (the feature cache's key)."""
        return {"margin_positions": self.margin, **gate_setting(self.gate_dbfs)}

    @classmethod
    def of_model(cls, encoder_config, variables) -> ChunkedWhisper:
        """The encoder of a model whose `audio_encoder` (an `AudioEncoderConfig` with context
        'chunked') keeps its Whisper parameters in variables["params"]["audio_encoder"]."""
        config = WhisperEncoderConfig(**encoder_config.architecture)
        params = variables["params"]["audio_encoder"]["encoder"]
        dtype = DTYPES[encoder_config.dtype]
        margin, gate = encoder_config.chunk_margin_seconds, encoder_config.gate_dbfs
        return cls(config, params, margin, dtype, gate)

    def flops(self, num_samples: int) -> float:
        """Encoder FLOPs of a clip of `num_samples` samples: its 30 s chunks, batched as
        `encode` batches them (what `Predictor` weighs to pick a run's cheapest context)."""
        chunks = len(self.chunk_rows(num_samples))
        return batched_flops(chunks, self.batch_chunks, encoder_flops(self.config, 3000))

    def encode_chunks(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        """Pieces of up to 30 s of audio (each zero-padded to 30 s) → [1500, D] float32 each, in
        encoder calls of up to `batch_chunks`."""
        out, batch = [], self.batch_chunks
        for i in range(0, len(chunks), batch):
            group = chunks[i : i + batch]
            size = bucket_size(len(group), batch)
            padded = np.zeros((size, WHISPER_SAMPLES), np.float32)
            for row, audio in enumerate(group):
                padded[row, : min(len(audio), WHISPER_SAMPLES)] = audio[:WHISPER_SAMPLES]
            out += list(np.asarray(self._encode(self.params, jnp.asarray(padded)))[: len(group)])
        return out

    def encode_chunk(self, audio: np.ndarray) -> np.ndarray:
        """Up to 30 s of audio [n] (zero-padded to 30 s) → [1500, D] float32."""
        return self.encode_chunks([audio])[0]

    def chunk_rows(self, num_samples: int) -> list[tuple[int, int, int]]:
        """(first sample, first row, end row) of each chunk of a clip of `num_samples` samples:
        chunk k's audio starts at sample k · stride · 320 and gives the clip's rows [lo, hi)
        from its own rows [lo − k · stride, hi − k · stride)."""
        rows, plan, emitted, index = feature_rows(num_samples), [], 0, 0
        while emitted < rows:
            start = index * self.stride
            whole = (start + CHUNK_POSITIONS) * SAMPLES_PER_POSITION <= num_samples
            end = start + CHUNK_POSITIONS - self.margin if whole else rows
            plan.append((start * SAMPLES_PER_POSITION, emitted, min(end, rows)))
            emitted, index = min(end, rows), index + 1
        return plan

    def encode_many(self, audios: list[np.ndarray]) -> list[np.ndarray]:
        """Clips [S_i] → features [feature_rows(S_i), D] float32 each, as `encode` gives them,
        with the chunks of all clips batched into shared encoder calls."""
        jobs = [
            (c, lo, hi, first)
            for c, audio in enumerate(audios)
            for first, lo, hi in self.chunk_rows(len(audio))
        ]
        chunks = [audios[c][first : first + WHISPER_SAMPLES] for c, _, _, first in jobs]
        encoded = self.encode_chunks(chunks)
        parts: list[list[np.ndarray]] = [[] for _ in audios]
        for (c, lo, hi, first), rows in zip(jobs, encoded, strict=True):
            offset = first // SAMPLES_PER_POSITION
            parts[c].append(fit_rows(rows[lo - offset :], hi - lo))
        return [np.concatenate(p) for p in parts]

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """audio [S] → [2T, D] float32 (`feature_rows(S)` rows)."""
        return np.concatenate(list(self.stream([np.asarray(audio, np.float32)])))

    def stream(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Audio pieces (any sizes) → blocks of final feature rows [n, D], in order, as soon as
        `batch_chunks` chunks' 30 s have arrived (or at the end); `feature_rows(S)` rows in all."""
        step = self.stride * SAMPLES_PER_POSITION
        buffer, total, index, emitted = np.zeros(0, np.float32), 0, 0, 0
        pending: list[tuple[np.ndarray, int, int]] = []  # (30 s of audio, its rows lo, hi)
        for piece in chunks:
            total += len(piece)
            buffer = np.concatenate([buffer, np.asarray(piece, np.float32)])
            while len(buffer) >= WHISPER_SAMPLES:
                start = index * self.stride
                end = start + CHUNK_POSITIONS - self.margin
                pending.append((buffer[:WHISPER_SAMPLES].copy(), emitted - start, end - start))
                emitted, index, buffer = end, index + 1, buffer[step:]
                if len(pending) == self.batch_chunks:
                    yield from self._encode_pending(pending)
                    pending = []
        rows = feature_rows(total)
        if emitted < rows:
            start = index * self.stride
            pending.append((buffer, emitted - start, rows - start))
        yield from self._encode_pending(pending)

    def _encode_pending(self, pending: list) -> Iterator[np.ndarray]:
        encoded = self.encode_chunks([audio for audio, _, _ in pending]) if pending else []
        for (_, lo, hi), rows in zip(pending, encoded, strict=True):
            yield fit_rows(rows[lo:], hi - lo)  # rounding may ask one past the last position
