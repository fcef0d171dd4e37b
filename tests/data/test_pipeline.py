"""The Grain pipeline: sharding by process, resumable state, clean interpreter exit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from talkmesh_jax.data.pipeline import WindowBatchDataset, make_pipeline, process_shard
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from tests.helpers import random_clips

SPEC = WindowSpec(window_frames=16, stride_frames=5, batch_size=3, jitter=True, seed=11)


@pytest.fixture(scope="module")
def batcher():
    clips = random_clips(
        np.random.default_rng(2), num_clips=4, num_vertices=5, max_frames=120, invalid_rate=0.1
    )
    return create_batcher(clips, SPEC, num_threads=2)


def take(iterator, n: int) -> list[dict]:
    return [next(iterator) for _ in range(n)]


def assert_same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for key in x:
            assert x[key].tobytes() == y[key].tobytes(), key


def test_pipeline_yields_the_batchers_batches_in_order(batcher) -> None:
    per_epoch = batcher.num_batches(0)
    got = take(iter(make_pipeline(batcher, shard=(0, 1))), per_epoch + 2)
    want = [batcher.get_batch(0, b) for b in range(per_epoch)]
    want += [batcher.get_batch(1, b) for b in range(2)]
    assert_same(got, want)


@pytest.mark.parametrize("prefetch", [0, 3])
@pytest.mark.parametrize("saved_after", [0, 4, 11, 30])
def test_state_restored_in_a_new_pipeline_gives_the_same_batches(batcher, prefetch, saved_after):
    first = iter(make_pipeline(batcher, shard=(0, 1), prefetch=prefetch))
    take(first, saved_after)
    state = json.loads(json.dumps(first.get_state()))  # as a checkpoint stores it
    expected = take(first, 25)  # crosses at least one epoch boundary

    resumed = iter(make_pipeline(batcher, shard=(0, 1), prefetch=prefetch))
    resumed.set_state(state)
    assert_same(take(resumed, 25), expected)


def test_shards_split_each_epoch_without_overlap(batcher) -> None:
    count = 3
    per_shard = batcher.num_batches(0) // count
    seen = []
    for index in range(count):
        shard = take(iter(make_pipeline(batcher, shard=(index, count), prefetch=0)), per_shard)
        seen += [tuple(map(tuple, np.stack([b["clip"], b["start"]], 1))) for b in shard]
        assert [b["start"].tolist() for b in shard] == [
            batcher.get_batch(0, i * count + index)["start"].tolist() for i in range(per_shard)
        ]
    assert len(set(seen)) == per_shard * count  # every batch read once, by one shard


def test_num_epochs_ends_iteration(batcher) -> None:
    batches = list(make_pipeline(batcher, shard=(0, 1), num_epochs=2))
    assert len(batches) == batcher.num_batches(0) + batcher.num_batches(1)


def test_state_of_another_pipeline_is_refused(batcher) -> None:
    state = iter(WindowBatchDataset(batcher, shard_index=0, shard_count=2)).get_state()
    other = iter(WindowBatchDataset(batcher, shard_index=1, shard_count=2))
    with pytest.raises(ValueError, match="shard_index=0, this pipeline has shard_index=1"):
        other.set_state(state)


def test_bad_shard_is_refused(batcher) -> None:
    with pytest.raises(ValueError, match=r"shard_index 2 is not in \[0, 2\)"):
        WindowBatchDataset(batcher, shard_index=2, shard_count=2)


def test_default_shard_is_this_jax_process() -> None:
    assert process_shard() == (0, 1)


def test_interpreter_exits_cleanly_while_prefetching() -> None:
    # Grain's prefetch thread is a daemon that may be inside the C++ fill when Python exits.
    script = textwrap.dedent(
        """
        import numpy as np
        from talkmesh_jax.data.packed import concatenate_clips
        from talkmesh_jax.data.pipeline import make_pipeline
        from talkmesh_jax.data.windows import WindowSpec, create_batcher
        n = 3000
        clips = concatenate_clips([np.zeros(n * 640, np.float32)],
                                  [np.zeros((n, 478, 3), np.float32)], [np.ones(n, bool)])
        spec = WindowSpec(window_frames=125, stride_frames=1, batch_size=32)
        it = iter(make_pipeline(create_batcher(clips, spec, num_threads=2), shard=(0, 1),
                                prefetch=8))
        next(it)
        """
    )
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
