"""Window specification and the C++ batcher over packed clips."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from talkmesh_jax import _batcher
from talkmesh_jax.data.packed import PackedClips


@dataclass(frozen=True)
class WindowSpec:
    """How clips are cut into training windows and batched.

    window_frames: frames per window (125 = 5 s at 25 fps, the original's window).
    stride_frames: frames between window starts within a clip.
    min_valid_fraction: windows with fewer valid frames than this fraction are dropped.
    jitter: shift each clip's window grid by a random offset per epoch (augmentation).
    drop_remainder: drop the last partial batch; otherwise it is padded with mask-false rows
        whose clip and start are -1.
    """

    window_frames: int = 125
    stride_frames: int = 125
    batch_size: int = 8
    min_valid_fraction: float = 0.5
    jitter: bool = False
    shuffle: bool = True
    drop_remainder: bool = True
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def samples_per_frame(clips: PackedClips) -> int:
    """Audio samples per video frame (640 at 16 kHz and 25 fps)."""
    if clips.sample_rate % clips.fps:
        raise ValueError(f"sample rate {clips.sample_rate} Hz is not a multiple of {clips.fps} fps")
    return clips.sample_rate // clips.fps


def gather_frames(
    values: np.ndarray, frame_offsets: np.ndarray, clip: np.ndarray, start: np.ndarray, frames: int
) -> np.ndarray:
    """Per-frame packed values [F, K] → [B, frames, K] for batch rows (clip [B], start [B]);
    padding rows (clip −1) are zeros."""
    rows = np.asarray(frame_offsets)[np.maximum(clip, 0)] + np.maximum(start, 0)
    out = np.asarray(values[rows[:, None] + np.arange(frames)], np.float32)
    out[np.asarray(clip) < 0] = 0.0
    return out


class PerFrameBatcher:
    """The C++ batcher plus per-frame arrays it does not carry, gathered in numpy by each batch
    row's (clip, start): `arrays` {key: packed values [F, R·K]} puts [B, R·W, K] float32 under
    `key` (R rows per frame: blendshapes [B, W, K], K = 52 floats a frame against the landmarks'
    1434; or Whisper features from the feature cache, two rows a frame, replacing "audio" by
    [B, 2W, d_model]). Everything else is the C++ batcher's."""

    def __init__(self, batcher: _batcher.WindowBatcher, clips: PackedClips, arrays: dict):
        self._batcher, self._clips, self._arrays = batcher, clips, arrays

    def __getattr__(self, name: str):
        return getattr(self._batcher, name)

    def get_batch(self, epoch: int, batch: int) -> dict[str, np.ndarray]:
        out = self._batcher.get_batch(epoch, batch)
        frames, offsets = self._batcher.window_frames, self._clips.frame_offsets
        for key, (values, rows_per_frame) in self._arrays.items():
            gathered = gather_frames(values, offsets, out["clip"], out["start"], frames)
            out[key] = gathered.reshape(len(gathered), rows_per_frame * frames, -1)
        return out


def gather_audio(
    audio: np.ndarray,
    audio_offsets: np.ndarray,
    clip: np.ndarray,
    start: np.ndarray,
    frames: int,
    samples_per_frame: int,
) -> np.ndarray:
    """Audio windows [B, frames · samples_per_frame] float32 of batch rows (clip [B], start [B]
    in frames) from packed `audio`, zero past a clip's end and for padding rows (clip −1): what
    the C++ batcher assembles."""
    width = frames * samples_per_frame
    out = np.zeros((len(clip), width), np.float32)
    for row, (c, s) in enumerate(zip(clip, start, strict=True)):
        if c < 0:
            continue
        begin = int(audio_offsets[c]) + int(s) * samples_per_frame
        avail = max(0, min(width, int(audio_offsets[c + 1]) - begin))
        out[row, :avail] = audio[begin : begin + avail]
    return out


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 values (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class AugmentedBatcher:
    """A batcher whose rows each hear the clean clip or one of its K augmented copies
    (`data/augment.py`), drawn from (seed, epoch, clip, start): the same window of an epoch hears
    the same copy whatever the batching, the sharding over processes or a resume.
    `copies`: K packed arrays like the clean input — audio [S] (rows' "audio" re-cut from the
    copy) or, for models that take Whisper features, features [F, 2·D]."""

    def __init__(
        self, batcher, clips: PackedClips, copies: list[np.ndarray], features: bool, seed: int
    ):
        self._batcher, self._clips, self._copies = batcher, clips, copies
        self._features, self._seed = features, seed

    def __getattr__(self, name: str):
        return getattr(self._batcher, name)

    def copy_choice(self, epoch: int, clip: np.ndarray, start: np.ndarray) -> np.ndarray:
        """[B] int64 for windows (clip [B], start [B]): 0 the clean clip, k the k-th copy."""
        with np.errstate(over="ignore"):
            key = _mix64(np.uint64(self._seed % 2**64) ^ np.uint64(0xA0A0 + epoch))
            key = _mix64(key ^ np.asarray(clip, np.int64).astype(np.uint64))
            key = _mix64(key ^ np.asarray(start, np.int64).astype(np.uint64))
        return (key % np.uint64(len(self._copies) + 1)).astype(np.int64)

    def get_batch(self, epoch: int, batch: int) -> dict[str, np.ndarray]:
        out = self._batcher.get_batch(epoch, batch)
        clip, start, frames = out["clip"], out["start"], self._batcher.window_frames
        choice = self.copy_choice(epoch, clip, start)
        for k, values in enumerate(self._copies, start=1):
            rows = np.flatnonzero((choice == k) & (clip >= 0))
            if not len(rows):
                continue
            if self._features:
                part = gather_frames(
                    values, self._clips.frame_offsets, clip[rows], start[rows], frames
                )
                out["audio"][rows] = part.reshape(len(rows), 2 * frames, -1)
            else:
                out["audio"][rows] = gather_audio(
                    values,
                    self._clips.audio_offsets,
                    clip[rows],
                    start[rows],
                    frames,
                    samples_per_frame(self._clips),
                )
        return out


def create_batcher(
    clips: PackedClips,
    spec: WindowSpec,
    num_threads: int = 0,
    features: np.ndarray | None = None,
    copies: list[np.ndarray] | None = None,
) -> _batcher.WindowBatcher | PerFrameBatcher | AugmentedBatcher:
    """The C++ batcher over `clips` (zero-copy; `num_threads=0` uses every core).

    Batches are dicts: audio [B, W*640] float32 (or, with per-frame Whisper `features`
    [F, 2·D], features [B, 2W, D]), landmarks [B, W, V, 3] float32, mask [B, W] bool,
    clip [B] int64, start [B] int64 (first frame within the clip), and blendshapes [B, W, K]
    float32 when the clips have them. With augmented `copies` (packed audio, or features when
    `features` is given) each row hears the clean clip or one of them (`AugmentedBatcher`).
    """
    # with features, the C++ batcher assembles no audio (it would be replaced and thrown away)
    batcher = _create_cpp_batcher(clips, spec, num_threads, with_audio=features is None)
    arrays = {}
    if clips.blendshapes is not None:
        arrays["blendshapes"] = (clips.blendshapes, 1)
    if features is not None:
        arrays["audio"] = (features, 2)
    if arrays:
        batcher = PerFrameBatcher(batcher, clips, arrays)
    if copies:
        batcher = AugmentedBatcher(batcher, clips, copies, features is not None, spec.seed)
    return batcher


def _create_cpp_batcher(
    clips: PackedClips, spec: WindowSpec, num_threads: int, with_audio: bool = True
) -> _batcher.WindowBatcher:
    return _batcher.WindowBatcher(
        clips.audio,
        clips.audio_offsets,
        clips.landmarks,
        clips.frame_offsets,
        clips.valid,
        samples_per_frame=samples_per_frame(clips),
        num_threads=num_threads,
        with_audio=with_audio,
        **spec.as_dict(),
    )
