"""Pure-numpy reference of the C++ batcher (csrc/batcher.cc): same rules, same bytes.

Used by the tests (byte-for-byte equality) and by `talkmesh bench loader` as a baseline.
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax.data.packed import PackedClips
from talkmesh_jax.data.windows import WindowSpec, samples_per_frame

_MASK64 = (1 << 64) - 1


class SplitMix64:
    """The batcher's random stream, bit for bit (see SplitMix64 in csrc/batcher.h)."""

    def __init__(self, state: int) -> None:
        self.state = state & _MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform integer in [0, n): the high 64 bits of next() * n."""
        return (self.next() * n) >> 64

    @classmethod
    def for_epoch(cls, seed: int, epoch: int) -> SplitMix64:
        seed_stream = cls(seed)
        epoch_stream = cls(seed_stream.next() ^ epoch)
        return cls(epoch_stream.next())


class NumpyWindowBatcher:
    """Same interface and output as `talkmesh_jax._batcher.WindowBatcher`."""

    def __init__(self, clips: PackedClips, spec: WindowSpec) -> None:
        self.clips = clips
        self.spec = spec
        self.samples_per_frame = samples_per_frame(clips)
        self.valid_prefix = np.concatenate([[0], np.cumsum(clips.valid != 0)]).astype(np.int64)
        self._cache: tuple[int, np.ndarray] | None = None

    def windows(self, epoch: int) -> np.ndarray:
        """[N, 2] int64 (clip, start frame) in batch order."""
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, self._plan(epoch))
        return self._cache[1]

    def _plan(self, epoch: int) -> np.ndarray:
        spec, offsets = self.spec, self.clips.frame_offsets
        w, stride = spec.window_frames, spec.stride_frames
        rng = SplitMix64.for_epoch(spec.seed, epoch)
        plan = []
        for c in range(self.clips.num_clips):
            first, frames = int(offsets[c]), int(offsets[c + 1] - offsets[c])
            if frames < w:
                continue
            count = (frames - w) // stride + 1
            slack = (frames - w) - (count - 1) * stride
            shift = rng.below(slack + 1) if spec.jitter else 0
            starts = shift + stride * np.arange(count)
            valid = self.valid_prefix[first + starts + w] - self.valid_prefix[first + starts]
            keep = valid.astype(np.float64) >= spec.min_valid_fraction * w
            plan.extend((c, int(s)) for s in starts[keep])
        if spec.shuffle:
            for i in range(len(plan) - 1, 0, -1):
                j = rng.below(i + 1)
                plan[i], plan[j] = plan[j], plan[i]
        return np.asarray(plan, dtype=np.int64).reshape(-1, 2)

    def num_windows(self, epoch: int) -> int:
        return len(self.windows(epoch))

    def num_batches(self, epoch: int) -> int:
        n, b = self.num_windows(epoch), self.spec.batch_size
        return n // b if self.spec.drop_remainder else -(-n // b)

    def get_batch(self, epoch: int, batch: int) -> dict[str, np.ndarray]:
        if not 0 <= batch < self.num_batches(epoch):
            raise IndexError(f"batch {batch} is out of range for epoch {epoch}")
        clips, w, spf = self.clips, self.spec.window_frames, self.samples_per_frame
        b, v = self.spec.batch_size, clips.num_vertices
        out = {
            "audio": np.zeros((b, w * spf), np.float32),
            "landmarks": np.zeros((b, w, v, 3), np.float32),
            "mask": np.zeros((b, w), bool),
            "clip": np.full((b,), -1, np.int64),
            "start": np.full((b,), -1, np.int64),
        }
        rows = self.windows(epoch)[batch * b : (batch + 1) * b]
        for r, (c, start) in enumerate(rows):
            a0 = clips.audio_offsets[c] + start * spf
            audio = clips.audio[a0 : min(a0 + w * spf, clips.audio_offsets[c + 1])]
            out["audio"][r, : len(audio)] = audio
            f0 = clips.frame_offsets[c] + start
            out["landmarks"][r] = clips.landmarks[f0 : f0 + w]
            out["mask"][r] = clips.valid[f0 : f0 + w] != 0
            out["clip"][r], out["start"][r] = c, start
        return out
