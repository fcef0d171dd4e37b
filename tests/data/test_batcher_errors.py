"""Every bad argument of the C++ batcher is a ValueError that says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax._batcher import WindowBatcher


def arrays(frames=(30, 20), vertices=3) -> dict:
    total = sum(frames)
    return {
        "audio": np.zeros(total * 640, np.float32),
        "audio_offsets": np.concatenate([[0], np.cumsum(frames) * 640]).astype(np.int64),
        "landmarks": np.zeros((total, vertices, 3), np.float32),
        "frame_offsets": np.concatenate([[0], np.cumsum(frames)]).astype(np.int64),
        "valid": np.ones(total, bool),
    }


def make(**overrides) -> WindowBatcher:
    kwargs = {**arrays(), "window_frames": 10, "stride_frames": 10, "batch_size": 2}
    kwargs.update(overrides)
    return WindowBatcher(**kwargs)


def test_valid_arguments_build() -> None:
    assert make().num_windows(0) == 5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"audio": np.zeros(50 * 640, np.float64)}, "audio must be float32, got float64"),
        ({"landmarks": np.zeros((50, 3, 3), np.float64)}, "landmarks must be float32"),
        ({"landmarks": np.zeros((50, 9), np.float32)}, "landmarks must have 3 dimension"),
        ({"landmarks": np.zeros((50, 3, 2), np.float32)}, r"landmarks must have shape \(frames"),
        ({"landmarks": np.zeros((50, 3, 3, 2), np.float32)[..., 0]}, "C-contiguous"),
        ({"valid": np.ones(50, np.uint8)}, "valid must be bool, got uint8"),
        ({"valid": np.ones(49, bool)}, "valid has 49 frames but landmarks has 50"),
        (
            {"audio_offsets": np.array([0, 30 * 640, 50 * 640], np.int32)},
            "audio_offsets must be int64",
        ),
        ({"frame_offsets": np.array([0, 30, 50], np.float64)}, "frame_offsets must be int64"),
        ({"frame_offsets": np.array([0, 50], np.int64)}, "must have the same length"),
        ({"frame_offsets": np.array([1, 30, 50], np.int64)}, r"frame_offsets\[0\] must be 0"),
        (
            {
                "frame_offsets": np.array([0, 40, 30, 50], np.int64),
                "audio_offsets": np.array([0, 1, 2, 50 * 640], np.int64),
            },
            "must be non-decreasing",
        ),
        ({"frame_offsets": np.array([0, 30, 60], np.int64)}, r"frame_offsets\[-1\]=60 must equal"),
        ({"audio_offsets": np.array([0, 30 * 640, 99], np.int64)}, "must be non-decreasing"),
        (
            {"audio_offsets": np.array([0, 30 * 640, 10**9], np.int64)},
            r"audio_offsets\[-1\]=1000000000 must equal the audio sample count",
        ),
        (
            {"frame_offsets": np.array([0], np.int64), "audio_offsets": np.array([0], np.int64)},
            "at least 2 entries",
        ),
        ({"window_frames": 31}, "window_frames=31 is longer than every clip .the longest has 30"),
        ({"window_frames": 0}, "window_frames must be > 0"),
        ({"stride_frames": -1}, "stride_frames must be > 0"),
        ({"batch_size": 0}, "batch_size must be > 0"),
        ({"samples_per_frame": 0}, "samples_per_frame must be > 0"),
        ({"min_valid_fraction": 1.5}, r"min_valid_fraction must be in \[0, 1\]"),
        ({"min_valid_fraction": float("nan")}, r"min_valid_fraction must be in \[0, 1\]"),
        ({"num_threads": -2}, "num_threads must be >= 0"),
        ({"valid": np.zeros(50, bool)}, "no window of 10 frames has a valid fraction >= 0.5"),
        ({"batch_size": 6}, "only 5 windows pass the validity filter, fewer than batch_size=6"),
    ],
)
def test_bad_arguments_raise_value_error(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**overrides)


def test_bad_batch_index_and_epoch() -> None:
    batcher = make()
    with pytest.raises(IndexError, match="batch 2 is out of range: epoch 0 has 2 batches"):
        batcher.get_batch(0, 2)
    with pytest.raises(IndexError):
        batcher.get_batch(0, -1)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        batcher.get_batch(-1, 0)


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("audio", np.zeros((2, 6399), np.float32), r"audio must have shape \(2, 6400\)"),
        ("landmarks", np.zeros((2, 10, 3, 3), np.float64), "landmarks must be float32"),
        ("mask", np.zeros((2, 10), np.uint8), "mask must be bool"),
        ("clip", np.zeros(3, np.int64), r"clip must have shape \(2\)"),
        ("start", np.zeros(2, np.int64)[::1].copy().reshape(1, 2), "start must have 1 dimension"),
    ],
)
def test_bad_output_buffers(name: str, bad: np.ndarray, message: str) -> None:
    out = {
        "audio": np.zeros((2, 6400), np.float32),
        "landmarks": np.zeros((2, 10, 3, 3), np.float32),
        "mask": np.zeros((2, 10), bool),
        "clip": np.zeros(2, np.int64),
        "start": np.zeros(2, np.int64),
        name: bad,
    }
    with pytest.raises(ValueError, match=message):
        make().fill_batch(0, 0, **out)


def test_read_only_output_is_refused() -> None:
    audio = np.zeros((2, 6400), np.float32)
    audio.flags.writeable = False
    with pytest.raises(ValueError, match="audio must be writeable"):
        make().fill_batch(
            0,
            0,
            audio,
            np.zeros((2, 10, 3, 3), np.float32),
            np.zeros((2, 10), bool),
            np.zeros(2, np.int64),
            np.zeros(2, np.int64),
        )


def test_memmap_inputs_are_read_zero_copy(tmp_path) -> None:
    data = arrays()
    np.save(tmp_path / "lm.npy", data["landmarks"])
    data["landmarks"] = np.load(tmp_path / "lm.npy", mmap_mode="r+")
    batcher = WindowBatcher(**data, window_frames=10, stride_frames=10, batch_size=2, shuffle=False)
    data["landmarks"][20:30] = 7.0  # written after the batcher was built: no copy was taken
    np.testing.assert_array_equal(batcher.get_batch(0, 1)["landmarks"][0], 7.0)
