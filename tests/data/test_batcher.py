"""The C++ batcher: byte-for-byte equal to the numpy reference, deterministic, clip-safe."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from talkmesh_jax import _batcher
from talkmesh_jax.data.reference import NumpyWindowBatcher, SplitMix64
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from tests.helpers import labelled_clips, random_clips

KEYS = ("audio", "landmarks", "mask", "clip", "start")


def random_spec(rng: np.random.Generator, max_window: int) -> WindowSpec:
    return WindowSpec(
        window_frames=int(rng.integers(1, max_window + 1)),
        stride_frames=int(rng.integers(1, 12)),
        batch_size=int(rng.integers(1, 6)),
        min_valid_fraction=float(rng.choice([0.0, 0.25, 0.5, 0.9, 1.0])),
        jitter=bool(rng.integers(2)),
        shuffle=bool(rng.integers(4)),  # mostly shuffled
        drop_remainder=bool(rng.integers(2)),
        seed=int(rng.integers(0, 2**64, dtype=np.uint64)),
    )


def reference_rejects(clips, spec: WindowSpec, reference: NumpyWindowBatcher) -> bool:
    """Whether the batcher must refuse this dataset: no window, or not one whole batch."""
    longest = int(np.diff(clips.frame_offsets).max())
    if longest < spec.window_frames:
        return True
    n = reference.num_windows(0)
    return n == 0 or (spec.drop_remainder and n < spec.batch_size)


def assert_same_batch(got: dict, want: dict) -> None:
    for key in KEYS:
        assert got[key].dtype == want[key].dtype, key
        assert got[key].shape == want[key].shape, key
        assert got[key].tobytes() == want[key].tobytes(), key


def test_cpp_equals_numpy_reference_byte_for_byte() -> None:
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(150):
        clips = random_clips(rng)
        spec = random_spec(rng, max_window=40)
        reference = NumpyWindowBatcher(clips, spec)
        if reference_rejects(clips, spec, reference):
            with pytest.raises(ValueError):
                create_batcher(clips, spec)
            continue
        batcher = create_batcher(clips, spec, num_threads=int(rng.integers(1, 5)))
        for epoch in (0, int(rng.integers(1, 1000))):
            np.testing.assert_array_equal(batcher.windows(epoch), reference.windows(epoch))
            assert batcher.num_batches(epoch) == reference.num_batches(epoch)
            for batch in range(batcher.num_batches(epoch)):
                assert_same_batch(
                    batcher.get_batch(epoch, batch), reference.get_batch(epoch, batch)
                )
                checked += 1
    assert checked > 500  # the random specs must produce plenty of real batches


@pytest.mark.parametrize("threads", [1, 2, 3, 8, 0])
def test_same_bytes_whatever_the_thread_count(threads: int) -> None:
    clips = random_clips(np.random.default_rng(7), num_clips=5, num_vertices=478, max_frames=300)
    spec = WindowSpec(window_frames=50, stride_frames=10, batch_size=7, jitter=True, seed=99)
    single = create_batcher(clips, spec, num_threads=1)
    multi = create_batcher(clips, spec, num_threads=threads)
    for epoch in (0, 3):
        for batch in range(single.num_batches(epoch)):
            assert_same_batch(multi.get_batch(epoch, batch), single.get_batch(epoch, batch))


def test_fill_batch_writes_into_preallocated_buffers() -> None:
    clips = random_clips(np.random.default_rng(3), num_clips=3, num_vertices=4)
    spec = WindowSpec(window_frames=10, stride_frames=5, batch_size=3, min_valid_fraction=0.0)
    batcher = create_batcher(clips, spec, num_threads=2)
    out = {
        "audio": np.full((3, 6400), np.nan, np.float32),
        "landmarks": np.full((3, 10, 4, 3), np.nan, np.float32),
        "mask": np.zeros((3, 10), bool),
        "clip": np.zeros(3, np.int64),
        "start": np.zeros(3, np.int64),
    }
    batcher.fill_batch(0, 1, **out)
    assert_same_batch(out, batcher.get_batch(0, 1))


def test_seed_and_epoch_change_the_order_and_nothing_else() -> None:
    clips = random_clips(np.random.default_rng(5), num_clips=4, max_frames=200, invalid_rate=0.0)
    spec = WindowSpec(window_frames=20, stride_frames=20, batch_size=2, min_valid_fraction=0.0)
    a = create_batcher(clips, spec).windows(0)
    b = create_batcher(clips, spec).windows(1)
    c = create_batcher(clips, WindowSpec(**{**spec.as_dict(), "seed": 1})).windows(0)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    for other in (b, c):  # same windows, other order
        assert sorted(map(tuple, a)) == sorted(map(tuple, other))
    np.testing.assert_array_equal(a, create_batcher(clips, spec).windows(0))


def test_windows_never_cross_clips_and_cover_the_grid() -> None:
    lengths, extra = [37, 5, 60, 24, 50], [0, 100, -900, 640, -6400 * 5]
    clips = labelled_clips(lengths, extra)
    w, stride = 12, 5
    spec = WindowSpec(
        window_frames=w,
        stride_frames=stride,
        batch_size=4,
        min_valid_fraction=0,
        shuffle=False,
        drop_remainder=False,
    )
    batcher = create_batcher(clips, spec, num_threads=3)
    expected = [(c, s) for c, n in enumerate(lengths) for s in range(0, n - w + 1, stride)]
    assert [tuple(x) for x in batcher.windows(0)] == expected
    for batch in range(batcher.num_batches(0)):
        out = batcher.get_batch(0, batch)
        for r, (clip, start) in enumerate(zip(out["clip"], out["start"], strict=True)):
            if clip < 0:  # padding row of the last batch
                assert not out["mask"][r].any() and not out["audio"][r].any()
                continue
            frames = out["landmarks"][r, :, 0, 0]
            np.testing.assert_array_equal(frames, 1000.0 * (clip + 1) + start + np.arange(w))
            audio = out["audio"][r]
            own = (audio >= 1000.0 * (clip + 1)) & (audio < 1000.0 * (clip + 2))
            available = max(0, min(w * 640, lengths[clip] * 640 + extra[clip] - start * 640))
            assert own[:available].all() and not audio[available:].any()


def test_jitter_keeps_windows_inside_clips_and_moves_them() -> None:
    lengths = [57, 33, 90]
    clips = labelled_clips(lengths, [0, 0, 0])
    spec = WindowSpec(
        window_frames=10, stride_frames=7, batch_size=1, min_valid_fraction=0, jitter=True
    )
    batcher = create_batcher(clips, spec)
    starts_seen = set()
    for epoch in range(20):
        windows = batcher.windows(epoch)
        assert len(windows) == sum((n - 10) // 7 + 1 for n in lengths)
        for clip, start in windows:
            assert 0 <= start and start + 10 <= lengths[clip]
            starts_seen.add(int(start) % 7)
    assert len(starts_seen) > 1  # the grid really moves between epochs


def test_min_valid_fraction_filters_windows() -> None:
    clips = labelled_clips([40], [0])
    valid = np.ones(40, bool)
    valid[10:20] = False
    clips = dataclasses.replace(clips, valid=valid)
    spec = WindowSpec(
        window_frames=10, stride_frames=5, batch_size=1, min_valid_fraction=0.6, shuffle=False
    )
    starts = [int(s) for _, s in create_batcher(clips, spec).windows(0)]
    assert starts == [0, 20, 25, 30]  # 5 and 15 have 5/10 valid, 10 has none


def test_splitmix64_matches_known_values() -> None:
    # Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    stream = SplitMix64(0)
    assert [stream.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


def test_row_bytes() -> None:
    assert _batcher.row_bytes(125, 640, 478) == 125 * 640 * 4 + 125 * 478 * 12 + 125


def test_without_audio_the_batches_are_the_same_minus_the_audio() -> None:
    """With cached Whisper features the batcher assembles no audio (audio [B, 0]); everything
    else is byte for byte what it gives with audio."""
    from talkmesh_jax.data.windows import _create_cpp_batcher

    clips = random_clips(np.random.default_rng(3), num_clips=4, max_frames=60, invalid_rate=0.1)
    spec = WindowSpec(window_frames=20, stride_frames=7, batch_size=3, jitter=True, seed=2)
    with_audio = _create_cpp_batcher(clips, spec, 2)
    without = _create_cpp_batcher(clips, spec, 2, with_audio=False)
    for batch in range(with_audio.num_batches(1)):
        got, want = without.get_batch(1, batch), with_audio.get_batch(1, batch)
        assert got["audio"].shape == (3, 0) and want["audio"].shape == (3, 20 * 640)
        for key in ("landmarks", "mask", "clip", "start"):
            assert got[key].tobytes() == want[key].tobytes(), key
    assert _batcher.row_bytes(125, 640, 478) == 125 * 640 * 4 + 125 * 478 * 12 + 125


def test_gather_audio_cuts_what_the_cpp_batcher_cuts() -> None:
    from talkmesh_jax.data.windows import gather_audio

    rng = np.random.default_rng(5)
    for _ in range(20):
        clips = random_clips(rng)
        spec = random_spec(rng, max_window=30)
        if reference_rejects(clips, spec, NumpyWindowBatcher(clips, spec)):
            continue
        batcher = create_batcher(clips, spec)
        for batch in range(batcher.num_batches(0)):
            got = batcher.get_batch(0, batch)
            ours = gather_audio(
                clips.audio, clips.audio_offsets, got["clip"], got["start"], spec.window_frames, 640
            )
            assert ours.tobytes() == got["audio"].tobytes()


def test_augmented_rows_hear_their_copy_and_the_draw_is_reproducible() -> None:
    from talkmesh_jax.data.windows import AugmentedBatcher

    clips = random_clips(
        np.random.default_rng(3), num_clips=4, num_vertices=2, max_frames=60, invalid_rate=0.0
    )
    spec = WindowSpec(window_frames=10, stride_frames=5, batch_size=8, jitter=True, seed=4)
    copies = [clips.audio * 2.0, clips.audio * 3.0]  # copy k: (k + 1) × the clean audio
    clean = create_batcher(clips, spec)
    batcher = create_batcher(clips, spec, copies=copies)
    assert isinstance(batcher, AugmentedBatcher)
    seen = set()
    for epoch in (0, 1):
        for index in range(batcher.num_batches(epoch)):
            want, got = clean.get_batch(epoch, index), batcher.get_batch(epoch, index)
            assert got["landmarks"].tobytes() == want["landmarks"].tobytes()
            choice = batcher.copy_choice(epoch, got["clip"], got["start"])
            np.testing.assert_array_equal(
                got["audio"], want["audio"] * (choice + 1.0).astype(np.float32)[:, None]
            )
            again = create_batcher(clips, spec, copies=copies).get_batch(epoch, index)
            assert again["audio"].tobytes() == got["audio"].tobytes()
            seen |= set(choice.tolist())
    assert seen == {0, 1, 2}
    # the draw is the window's: another batch size (or process count) gives each window the same
    other = create_batcher(clips, WindowSpec(**{**spec.as_dict(), "batch_size": 4}), copies=copies)
    assert other.copy_choice(1, got["clip"], got["start"]).tolist() == choice.tolist()
    # with features instead of audio: the rows of the chosen copy's features
    features = [np.arange(clips.num_frames * 6, dtype=np.float32).reshape(-1, 6)]
    features.append(features[0] + 0.5)
    plain = create_batcher(clips, spec, features=features[0])
    mixed = create_batcher(clips, spec, features=features[0], copies=features[1:])
    got, want = mixed.get_batch(0, 0), plain.get_batch(0, 0)
    choice = mixed.copy_choice(0, got["clip"], got["start"])
    assert got["audio"].shape == (8, 20, 3)
    np.testing.assert_array_equal(got["audio"], want["audio"] + 0.5 * choice[:, None, None])
