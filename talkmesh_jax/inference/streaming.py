"""Streaming: audio in as it arrives, frames out as soon as they are known.

`Streamer(predictor).push(pcm)` returns the frames that the audio pushed so far settles; `flush()`
the rest at the end. It computes the same windows and cross-fade as offline export
(`inference.Predictor`): each window is generated on the audio it has so far (zero past it, as a
window past the end of a file is), and frame t goes out once `lookahead` frames of audio after it
have arrived. With the model's whole look-ahead (its audio receptive field past a frame, measured
by `measure_lookahead`) the frames equal offline export's (up to the log-mel floor, which Whisper's
front end sets per window from the loudest sound so far); a shorter look-ahead trades accuracy
for latency (`talkmesh bench export` measures both).

A model that takes Whisper features streams when its context does (`trailing`: each hop of frames
is encoded once the audio up to its look-ahead has arrived, `whisper/trailing.py`): the Streamer
feeds the audio to that encoder and cuts its windows from the feature rows, the same rows offline
export computes, so the frames equal export's. Its look-ahead is the context's (fixed in training)
plus the decoder's over features (measured the same way; none for the FaceFormer decoder, whose
frame t attends to its own features and the frames before it).

Latency of frame t, from its last audio sample's arrival to its being written: the look-ahead,
the wait for the chunk that completes it (and for a trailing context, for the end of its hop), and
the compute of one step (one or two windows regenerated, one encoder call); more when the compute
falls behind the audio (`LatencyMeter` counts those frames).
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax import SAMPLE_RATE, SAMPLES_PER_FRAME, TalkmeshError
from talkmesh_jax.inference.predictor import Predictor, blend_weights

PERTURBATION_TOLERANCE = 1e-5  # relative change of a frame that counts as "it saw that audio"


def _noise_inputs(predictor: Predictor, rng: np.random.Generator) -> np.ndarray:
    """One window of random model inputs: audio [W·640], or feature rows [2W, D]."""
    if predictor.features is None:
        return (0.1 * rng.standard_normal(predictor.window * SAMPLES_PER_FRAME)).astype(np.float32)
    shape = (2 * predictor.window, predictor.features.config.d_model)
    return rng.standard_normal(shape).astype(np.float32)


def measure_lookahead(predictor: Predictor, seed: int = 0) -> int:
    """Frames of audio after frame t that change frame t's prediction (the model's algorithmic
    look-ahead): noise audio in one window, then the audio after frame p + 1 + k replaced by other
    noise, for growing k, until frame p stops changing. Equal to the window (W) when the
    prediction depends on the whole window (a Whisper encoder attends to all of it), and for
    families that sample (MeshTalk): their discrete codes hide small changes, so perturbation
    cannot see the receptive field, and the safe answer is the window."""
    window = predictor.window
    if getattr(predictor.family, "samples", False):
        return window
    rng = np.random.default_rng(seed)
    audio, other = _noise_inputs(predictor, rng), _noise_inputs(predictor, rng)
    units = predictor.units_per_frame
    p = window // 4
    base = predictor.generate_windows(audio[None])[0, p]
    scale = float(np.abs(base).max()) + 1e-6

    def changes_frame(cut: int) -> bool:
        changed = audio.copy()
        changed[cut:] = other[cut:]
        frame = predictor.generate_windows(changed[None])[0, p]
        return bool(np.abs(frame - base).max() > PERTURBATION_TOLERANCE * scale)

    if not changes_frame(0):
        return window  # the output ignores the audio (untrained weights): assume the whole window
    for k in range(window - p - 1):
        if not changes_frame((p + 1 + k) * units):
            return k
    return window


class Streamer:
    """push(pcm [n] float32 16 kHz) → {"landmarks": [m, V, 3], "blendshapes": [m, K]} of the
    frames settled by it (m ≥ 0, in order); flush() → the rest, T = max(1, round(S / 640)) in
    all. Memory holds at most two windows of model inputs (and a trailing context's span)."""

    def __init__(self, predictor: Predictor, lookahead_frames: int | None = None):
        if lookahead_frames is not None and lookahead_frames < 0:
            raise TalkmeshError(f"the look-ahead must be ≥ 0 frames, got {lookahead_frames}")
        self.p = predictor
        self.encoder_state = _feature_state(predictor, lookahead_frames)
        self.units = predictor.units_per_frame
        self.lookahead = (
            measure_lookahead(predictor) if lookahead_frames is None else int(lookahead_frames)
        )
        width = () if predictor.features is None else (predictor.features.config.d_model,)
        self.inputs = np.zeros((0, *width), np.float32)  # model inputs from frame `base` on
        self.base = 0
        self.total = 0  # samples pushed
        self.emitted = 0  # frames returned
        self.done = False
        for count in (1, 2):  # compile both shapes a step runs at (one or two windows) now
            predictor.generate_windows(np.zeros((count, predictor.window * self.units, *width)))

    @property
    def lookahead_frames(self) -> int:
        """Frames of audio after a frame that it waits for: the decoder's look-ahead, plus a
        trailing context's (not counting the wait for the end of its hop)."""
        context = 0 if self.encoder_state is None else self.encoder_state.encoder.lookahead
        return self.lookahead + context

    @property
    def lookahead_ms(self) -> float:
        return 1000.0 * self.lookahead_frames * SAMPLES_PER_FRAME / SAMPLE_RATE

    @property
    def max_wait_ms(self) -> float:
        """The longest a frame waits for audio by design: the look-ahead, plus the rest of a
        trailing context's hop (H − 1 frames for its first frame)."""
        hop = 1 if self.encoder_state is None else self.encoder_state.encoder.hop
        return self.lookahead_ms + 1000.0 * (hop - 1) * SAMPLES_PER_FRAME / SAMPLE_RATE

    def push(self, pcm: np.ndarray) -> dict[str, np.ndarray]:
        if self.done:
            raise RuntimeError("push after flush")
        pcm = np.asarray(pcm, np.float32).reshape(-1)
        self.total += len(pcm)
        if self.encoder_state is None:
            self.inputs = np.concatenate([self.inputs, pcm])
            known = self.total // SAMPLES_PER_FRAME
        else:
            self._add_rows(self.encoder_state.push(pcm))
            known = self.encoder_state.hops * self.encoder_state.encoder.hop
        return self._emit(known - self.lookahead)

    def flush(self) -> dict[str, np.ndarray]:
        """The frames left at the end of the audio (zero past it, as offline)."""
        self.done = True
        if self.encoder_state is not None:
            self._add_rows(self.encoder_state.flush())
        return self._emit(max(1, round(self.total / SAMPLES_PER_FRAME)))

    def _add_rows(self, rows: np.ndarray) -> None:
        from talkmesh_jax.whisper.context import as_stored

        self.inputs = np.concatenate([self.inputs, as_stored(rows)])

    def _emit(self, upto: int) -> dict[str, np.ndarray]:
        if upto <= self.emitted:
            return self.p.split(np.zeros((0, self.p.layout.dim), np.float32))
        window, hop = self.p.window, self.p.hop
        first, last = self._first_window_covering(self.emitted), (upto - 1) // hop
        predictions = self.p.generate_windows(
            np.stack([self._window_audio(k) for k in range(first, last + 1)]), first
        )
        total = np.zeros((upto - self.emitted, predictions.shape[-1]), np.float32)
        weights = np.zeros(upto - self.emitted, np.float32)
        for k, prediction in zip(range(first, last + 1), predictions, strict=True):
            lo, hi = max(self.emitted, k * hop), min(upto, k * hop + window)
            w = blend_weights(window, k == 0)[lo - k * hop : hi - k * hop]
            total[lo - self.emitted : hi - self.emitted] += (
                w[:, None] * prediction[lo - k * hop : hi - k * hop]
            )
            weights[lo - self.emitted : hi - self.emitted] += w
        self.emitted = upto
        self._drop_audio_before(self._first_window_covering(upto) * hop)
        return self.p.split(total / weights[:, None])

    def _first_window_covering(self, frame: int) -> int:
        """The first window whose frames [k · hop, k · hop + W) include `frame`."""
        return max(0, -(-(frame - self.p.window + 1) // self.p.hop))

    def _window_audio(self, k: int) -> np.ndarray:
        """Window k's inputs so far, zero-filled to W frames."""
        start = (k * self.p.hop - self.base) * self.units
        piece = self.inputs[start : start + self.p.window * self.units]
        pad = [(0, self.p.window * self.units - len(piece))] + [(0, 0)] * (piece.ndim - 1)
        return np.pad(piece, pad)

    def _drop_audio_before(self, frame: int) -> None:
        if frame > self.base:
            self.inputs = self.inputs[(frame - self.base) * self.units :]
            self.base = frame


def _feature_state(predictor: Predictor, lookahead_frames: int | None):
    """The incremental feature encoder of a model that takes Whisper features (None for one that
    takes audio), in the first context the run trained on that streams (a run that trained on
    'chunked' and 'trailing' streams with 'trailing'); refuses a run without one, and a
    look-ahead other than its context's."""
    if not predictor.feature_encoders:
        return None
    streaming = [c for c, e in predictor.feature_encoders.items() if e.streams]
    if not streaming:
        raise TalkmeshError(
            "streaming needs a Whisper context that streams: this run's is 'chunked' (30 s "
            "chunks); use talkmesh export, or train with model.audio_encoder.context=trailing "
            "(the streaming context; or extra_contexts=[trailing] beside chunked) or window"
        )
    predictor.use_context(streaming[0])
    features = predictor.features
    if lookahead_frames is not None:
        ms = features.lookahead * 1000 * SAMPLES_PER_FRAME // SAMPLE_RATE
        raise TalkmeshError(
            f"this run's look-ahead is its Whisper context's ({features.lookahead} frames, {ms} "
            "ms, fixed in training: model.audio_encoder.trailing_lookahead_frames); drop "
            "--lookahead-ms"
        )
    from talkmesh_jax.whisper.trailing import TrailingState

    return TrailingState(features)


class LatencyMeter:
    """Latency of every frame, on the real-time clock of the audio's arrival: from the moment
    the frame's last audio sample arrived (the last sample of the audio for a frame that runs
    past its end) to the moment the frame was written. Record arrivals with
    `arrived(samples_so_far, when)` (when the chunk ending there arrived) and writes with
    `written(first_frame, count, when)`. A frame is *late* when its latency exceeds
    `late_after_ms` (the caller's look-ahead + one chunk + one frame of compute): the stream
    did not keep up with real time."""

    def __init__(self, late_after_ms: float = float("inf")):
        self.late_after_ms = late_after_ms
        self.arrivals: list[tuple[int, float]] = []  # (samples arrived up to here, when)
        self.latencies: list[float] = []

    def arrived(self, total_samples: int, when: float) -> None:
        self.arrivals.append((total_samples, when))

    def written(self, first_frame: int, count: int, now: float) -> None:
        if count and not self.arrivals:
            raise RuntimeError("frames written before any audio arrived")
        for t in range(first_frame, first_frame + count):
            last = min((t + 1) * SAMPLES_PER_FRAME, self.arrivals[-1][0]) - 1  # sample index
            when = next(when for total, when in self.arrivals if total > last)
            self.latencies.append(now - when)
        keep = (first_frame + count) * SAMPLES_PER_FRAME  # later frames end after this sample
        self.arrivals = [a for a in self.arrivals if a[0] > keep] or self.arrivals[-1:]

    def summary_ms(self) -> dict[str, float]:
        """{"mean", "p95", "max"} ms, "frames" counted, "late" frames and "late_after_ms"."""
        values = np.asarray(self.latencies) * 1000.0
        summary = {"frames": int(values.size), "late_after_ms": self.late_after_ms}
        if values.size == 0:
            return {"mean": 0.0, "p95": 0.0, "max": 0.0, "late": 0, **summary}
        return {
            "mean": float(values.mean()),
            "p95": float(np.percentile(values, 95)),
            "max": float(values.max()),
            "late": int((values > self.late_after_ms).sum()),
            **summary,
        }
