"""Grain pipeline over the C++ batcher: per-process sharding and resumable iterator state.

The batcher already windows, filters and shuffles; Grain gives the pipeline its iterator
protocol, its checkpointable state (`get_state` / `set_state`, saved by orbax with the model)
and background prefetching (`ThreadPrefetchIterDataset`; the C++ fill releases the GIL).

Sharding: with P processes, process p reads batches p, p + P, p + 2P, ... of every epoch, and each
epoch is cut to a multiple of P batches so that all processes take the same number of steps.
"""

from __future__ import annotations

from typing import Any

import grain
import numpy as np

from talkmesh_jax._batcher import WindowBatcher

Batch = dict[str, np.ndarray]


def process_shard() -> tuple[int, int]:
    """(index, count) of this process in a multi-host JAX run; (0, 1) on one host."""
    import jax

    return jax.process_index(), jax.process_count()


class WindowBatchDataset(grain.IterDataset):
    """One process's shard of the batcher's batches, epoch after epoch.

    Elements are dicts: audio [B, W*640] float32, landmarks [B, W, V, 3] float32,
    mask [B, W] bool, clip [B] int64, start [B] int64.
    """

    def __init__(
        self,
        batcher: WindowBatcher,
        *,
        shard_index: int = 0,
        shard_count: int = 1,
        num_epochs: int | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= shard_index < shard_count:
            raise ValueError(f"shard_index {shard_index} is not in [0, {shard_count})")
        self.batcher = batcher
        self.shard_index = shard_index
        self.shard_count = shard_count
        self.num_epochs = num_epochs

    def batches_per_epoch(self, epoch: int) -> int:
        """Batches this shard reads in `epoch`."""
        return self.batcher.num_batches(epoch) // self.shard_count

    def __iter__(self) -> WindowBatchIterator:
        return WindowBatchIterator(self)

    def __str__(self) -> str:
        return f"WindowBatchDataset(shard={self.shard_index}/{self.shard_count})"


class WindowBatchIterator(grain.DatasetIterator):
    """Iterator with state {epoch, position}: `position` batches of `epoch` are consumed."""

    def __init__(self, dataset: WindowBatchDataset) -> None:
        super().__init__()
        self._ds = dataset
        self._epoch = 0
        self._position = 0

    def __next__(self) -> Batch:
        ds = self._ds
        while True:
            if ds.num_epochs is not None and self._epoch >= ds.num_epochs:
                raise StopIteration
            per_shard = ds.batches_per_epoch(self._epoch)
            if per_shard == 0:
                raise ValueError(
                    f"epoch {self._epoch} has {ds.batcher.num_batches(self._epoch)} batches, "
                    f"fewer than the {ds.shard_count} shards"
                )
            if self._position < per_shard:
                break
            self._epoch, self._position = self._epoch + 1, 0
        index = self._position * ds.shard_count + ds.shard_index
        batch = ds.batcher.get_batch(self._epoch, index)
        self._position += 1
        return batch

    def get_state(self) -> dict[str, Any]:
        ds = self._ds
        return {
            "epoch": self._epoch,
            "position": self._position,
            "seed": int(ds.batcher.seed),
            "shard_index": ds.shard_index,
            "shard_count": ds.shard_count,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        ds = self._ds
        expected = {
            "seed": int(ds.batcher.seed),
            "shard_index": ds.shard_index,
            "shard_count": ds.shard_count,
        }
        for key, value in expected.items():
            if int(state[key]) != value:
                raise ValueError(
                    f"iterator state is for {key}={state[key]}, this pipeline has {key}={value}"
                )
        self._epoch, self._position = int(state["epoch"]), int(state["position"])


def make_pipeline(
    batcher: WindowBatcher,
    *,
    shard: tuple[int, int] | None = None,
    num_epochs: int | None = None,
    prefetch: int = 2,
) -> grain.IterDataset:
    """The training input pipeline: this process's shard, prefetched by a background thread.

    `shard` is (index, count), by default `process_shard()`; `prefetch` batches are filled
    ahead (0 disables prefetching). `iter(pipeline)` gives a checkpointable iterator.
    """
    index, count = shard if shard is not None else process_shard()
    dataset: grain.IterDataset = WindowBatchDataset(
        batcher, shard_index=index, shard_count=count, num_epochs=num_epochs
    )
    if prefetch > 0:
        dataset = grain.experimental.ThreadPrefetchIterDataset(
            dataset, prefetch_buffer_size=prefetch
        )
    return dataset
