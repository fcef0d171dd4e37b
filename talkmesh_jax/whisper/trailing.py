"""A Whisper context a stream can compute: each hop of frames encoded with the audio just before it.

Context 'trailing' cuts the clip into hops of H video frames. Hop k (frames [kH, (k+1)H)) takes
its features from one encoder call on the L frames of audio ending A frames after the hop:
frames [(k+1)H + A − L, (k+1)H + A), zero before the clip's start and past its end, its log-mel
computed on that span alone. So a frame's features depend on at most L frames of audio around it
and on nothing later than A frames after its hop's end: a stream computes them once that audio
has arrived, and the offline encoding (feature cache, export) computes the very same spans, in
batches. L (`trailing_seconds`), H (`trailing_hop_frames`) and A (`trailing_lookahead_frames`)
are config.

Latency of frame t of hop k in a stream: its features wait for frame (k+1)H + A's audio, i.e.
A + (k+1)H − 1 − t frames (A + (H − 1)/2 on average), then one encoder call on L frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.whisper.context import (
    POSITIONS_PER_FRAME,
    batched_flops,
    bucket_size,
    feature_rows,
    gate_setting,
)
from talkmesh_jax.whisper.encoder import (
    DTYPES,
    WhisperEncoder,
    WhisperEncoderConfig,
    encoder_flops,
)
from talkmesh_jax.whisper.log_mel import log_mel_spectrogram

MAX_BATCH = 16  # spans per encoder call (a partial batch runs at the next power of two)


class TrailingWhisper:
    """audio [S] float32 16 kHz → features [2T, d_model] float32 by hops (module docstring);
    `gate_dbfs`: the log-mel's noise gate (None: off)."""

    def __init__(
        self,
        config: WhisperEncoderConfig,
        params,
        span_frames: int,
        hop_frames: int,
        lookahead_frames: int,
        dtype=jnp.float32,
        gate_dbfs: float | None = None,
    ):
        if hop_frames < 1 or lookahead_frames < 0 or span_frames < hop_frames + lookahead_frames:
            raise ValueError(
                f"trailing context needs hop ≥ 1, look-ahead ≥ 0 and span ≥ hop + look-ahead "
                f"frames, got span {span_frames}, hop {hop_frames}, look-ahead {lookahead_frames}"
            )
        self.config, self.params, self.gate_dbfs = config, params, gate_dbfs
        self.span, self.hop, self.lookahead = span_frames, hop_frames, lookahead_frames
        module = WhisperEncoder(config, dtype)
        bins, samples = config.num_mel_bins, span_frames * SAMPLES_PER_FRAME

        def encode(params, spans):  # [B, L·640] → [B, 2L, D]
            mel = log_mel_spectrogram(spans, bins, gate_dbfs=gate_dbfs)
            return module.apply({"params": params}, mel)[:, : 2 * span_frames].astype(jnp.float32)

        self._encode = jax.jit(encode)
        self._samples = samples

    @classmethod
    def of_model(cls, encoder_config, variables) -> TrailingWhisper:
        """The encoder of a model whose `audio_encoder` has context 'trailing'."""
        config = WhisperEncoderConfig(**encoder_config.architecture)
        params = variables["params"]["audio_encoder"]["encoder"]
        span = int(round(encoder_config.trailing_seconds * 25))
        return cls(
            config,
            params,
            span,
            encoder_config.trailing_hop_frames,
            encoder_config.trailing_lookahead_frames,
            DTYPES[encoder_config.dtype],
            encoder_config.gate_dbfs,
        )

    streams = True  # features of a hop wait only for its span's audio

    @property
    def settings(self) -> dict:
        """What the features depend on besides the weights (the feature cache's key)."""
        return {
            "context": "trailing",
            "span_frames": self.span,
            "hop_frames": self.hop,
            "lookahead_frames": self.lookahead,
            **gate_setting(self.gate_dbfs),
        }

    def span_start(self, hop_index: int) -> int:
        """First frame of hop `hop_index`'s audio span (negative: before the clip)."""
        return (hop_index + 1) * self.hop + self.lookahead - self.span

    def encode_hops(self, audio: np.ndarray, first: int, count: int, origin: int = 0) -> np.ndarray:
        """Rows of hops first … first + count − 1, [2 · count · H, D], from `audio` (the clip's
        samples from frame `origin` on; zero outside what is given)."""
        offset = POSITIONS_PER_FRAME * (self.span - self.hop - self.lookahead)
        hop_rows = POSITIONS_PER_FRAME * self.hop
        rows = []
        for i in range(first, first + count, MAX_BATCH):  # spans made a batch at a time
            batch = min(MAX_BATCH, first + count - i)
            size = bucket_size(batch, MAX_BATCH)
            spans = np.zeros((size, self._samples), np.float32)
            for j in range(batch):
                start = (self.span_start(i + j) - origin) * SAMPLES_PER_FRAME
                lo, hi = max(0, start), min(len(audio), start + self._samples)
                if hi > lo:
                    spans[j, lo - start : hi - start] = audio[lo:hi]
            encoded = np.asarray(self._encode(self.params, jnp.asarray(spans)))
            rows.append(encoded[:batch, offset : offset + hop_rows])
        return np.concatenate(rows).reshape(-1, self.config.d_model)

    def num_hops(self, num_samples: int) -> int:
        """Hops covering a clip of `num_samples` samples."""
        return -(-feature_rows(num_samples) // (POSITIONS_PER_FRAME * self.hop))

    def flops(self, num_samples: int) -> float:
        """Encoder FLOPs of a clip of `num_samples` samples: one span per hop, batched as
        `encode` batches them."""
        per_span = encoder_flops(self.config, self._samples // 160)
        return batched_flops(self.num_hops(num_samples), MAX_BATCH, per_span)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """audio [S] → [2T, D] float32 (`feature_rows(S)` rows)."""
        audio = np.asarray(audio, np.float32)
        return self.encode_hops(audio, 0, self.num_hops(len(audio)))[: feature_rows(len(audio))]

    def encode_many(self, audios: list[np.ndarray]) -> list[np.ndarray]:
        """Clips [S_i] → features [feature_rows(S_i), D] float32 each (their spans batch within
        each clip)."""
        return [self.encode(audio) for audio in audios]

    def stream(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Audio pieces → blocks of feature rows [n, D], each hop's as soon as its span's audio
        has arrived (all hops ready at once share encoder calls); `feature_rows(S)` in all."""
        state = TrailingState(self)
        for piece in chunks:
            block = state.push(piece)
            if len(block):
                yield block
        yield state.flush()


class TrailingState:
    """The incremental form of `TrailingWhisper.stream`: push(pcm) → the rows it completes."""

    def __init__(self, encoder: TrailingWhisper):
        self.encoder = encoder
        self.audio = np.zeros(0, np.float32)  # samples from frame `base` on
        self.base = 0  # frame of self.audio[0]
        self.total = 0  # samples pushed
        self.hops = 0  # hops encoded

    def push(self, pcm: np.ndarray) -> np.ndarray:
        pcm = np.asarray(pcm, np.float32).reshape(-1)
        self.audio = np.concatenate([self.audio, pcm])
        self.total += len(pcm)
        e = self.encoder
        ready = (self.total // SAMPLES_PER_FRAME - e.lookahead) // e.hop  # hops whose span is in
        return self._encode(ready)

    def flush(self) -> np.ndarray:
        """The remaining rows (spans zero past the end): `feature_rows(total)` in all."""
        rows_per_hop = POSITIONS_PER_FRAME * self.encoder.hop
        before = self.hops * rows_per_hop
        rows = feature_rows(self.total)
        block = self._encode(-(-rows // rows_per_hop))
        return block[: max(0, rows - before)]

    def _encode(self, upto: int) -> np.ndarray:
        """Rows of hops self.hops … upto − 1; then drops the audio no later hop needs."""
        e = self.encoder
        if upto <= self.hops:
            return np.zeros((0, e.config.d_model), np.float32)
        block = e.encode_hops(self.audio, self.hops, upto - self.hops, origin=self.base)
        self.hops = upto
        keep_from = max(0, e.span_start(self.hops))  # the next hop's span starts here
        if keep_from > self.base:
            self.audio = self.audio[(keep_from - self.base) * SAMPLES_PER_FRAME :]
            self.base = keep_from
        return block
