"""Type stub of the C++ extension (csrc/bindings.cc)."""

import numpy as np

class WindowBatcher:
    def __init__(
        self,
        audio: np.ndarray,
        audio_offsets: np.ndarray,
        landmarks: np.ndarray,
        frame_offsets: np.ndarray,
        valid: np.ndarray,
        *,
        window_frames: int,
        stride_frames: int,
        batch_size: int,
        min_valid_fraction: float = 0.5,
        jitter: bool = False,
        shuffle: bool = True,
        drop_remainder: bool = True,
        seed: int = 0,
        samples_per_frame: int = 640,
        num_threads: int = 1,
        with_audio: bool = True,
    ) -> None: ...
    def num_windows(self, epoch: int) -> int: ...
    def num_batches(self, epoch: int) -> int: ...
    def windows(self, epoch: int) -> np.ndarray: ...
    def fill_batch(
        self,
        epoch: int,
        batch: int,
        audio: np.ndarray,
        landmarks: np.ndarray,
        mask: np.ndarray,
        clip: np.ndarray,
        start: np.ndarray,
    ) -> None: ...
    def get_batch(self, epoch: int, batch: int) -> dict[str, np.ndarray]: ...
    @property
    def window_frames(self) -> int: ...
    @property
    def stride_frames(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def samples_per_frame(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def num_vertices(self) -> int: ...
    @property
    def num_clips(self) -> int: ...
    @property
    def num_threads(self) -> int: ...

def row_bytes(window_frames: int, samples_per_frame: int, num_vertices: int) -> int: ...
