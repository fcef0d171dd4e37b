"""Window specification and the C++ batcher over packed clips."""

from __future__ import annotations

from dataclasses import asdict, dataclass

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


def create_batcher(
    clips: PackedClips, spec: WindowSpec, num_threads: int = 0
) -> _batcher.WindowBatcher:
    """The C++ batcher over `clips` (zero-copy; `num_threads=0` uses every core).

    Batches are dicts: audio [B, W*640] float32, landmarks [B, W, V, 3] float32,
    mask [B, W] bool, clip [B] int64, start [B] int64 (first frame within the clip).
    """
    return _batcher.WindowBatcher(
        clips.audio,
        clips.audio_offsets,
        clips.landmarks,
        clips.frame_offsets,
        clips.valid,
        samples_per_frame=samples_per_frame(clips),
        num_threads=num_threads,
        **spec.as_dict(),
    )
