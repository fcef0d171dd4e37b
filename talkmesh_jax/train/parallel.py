"""Data parallelism: the pure step under `jax.pmap` over all local devices (default), or under
`jax.jit` with the batch sharded over a device mesh (the path for JAX ≥ 0.8, where pmap is in
maintenance mode). Multi-host: `jax.distributed.initialize()` first; each process feeds its own
devices from its own shard of the data (Grain), and the step's sums run over all devices.
"""

from __future__ import annotations

from functools import partial

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from talkmesh_jax import TalkmeshError

AXIS = "devices"
BATCH_KEYS = ("audio", "landmarks", "mask")


class DataParallel:
    """Places state and batches on the devices and runs `step(state, batch, reference)`.

    `step` must accept `axis_name` (None under jit: the sharded arrays already span all devices).
    """

    def __init__(self, step, kind: str = "pmap"):
        if kind not in ("pmap", "jit"):
            raise TalkmeshError(f"train.parallel must be 'pmap' or 'jit', got {kind!r}")
        self.kind = kind
        self.local_devices = jax.local_devices()
        if kind == "pmap":
            self._step = jax.pmap(
                partial(step, axis_name=AXIS),
                axis_name=AXIS,
                in_axes=(0, 0, None),
                donate_argnums=(0,),
            )
        else:
            self.mesh = Mesh(np.array(jax.devices()), (AXIS,))
            self._replicated = NamedSharding(self.mesh, PartitionSpec())
            self._sharded = NamedSharding(self.mesh, PartitionSpec(AXIS))
            self._step = jax.jit(partial(step, axis_name=None), donate_argnums=(0,))

    @property
    def num_local_devices(self) -> int:
        return len(self.local_devices)

    def put_state(self, state):
        if self.kind == "pmap":
            return jax.device_put_replicated(state, self.local_devices)
        return jax.device_put(state, self._replicated)

    def get_state(self, state):
        """The state as host arrays (one replica)."""
        if self.kind == "pmap":
            state = jax.tree.map(lambda x: x[0], state)
        return jax.device_get(state)

    def put_batch(self, batch: dict) -> dict:
        """This process's part of the global batch: arrays with a leading [B_local] axis."""
        arrays = {key: np.asarray(batch[key]) for key in BATCH_KEYS}
        n = self.num_local_devices
        if len(arrays["audio"]) % n:
            raise TalkmeshError(
                f"the per-process batch ({len(arrays['audio'])}) must divide by the {n} devices"
            )
        if self.kind == "pmap":
            split = {k: v.reshape(n, -1, *v.shape[1:]) for k, v in arrays.items()}
            return jax.device_put_sharded(
                [{k: v[i] for k, v in split.items()} for i in range(n)], self.local_devices
            )
        return {
            k: jax.make_array_from_process_local_data(self._sharded, v) for k, v in arrays.items()
        }

    def step(self, state, batch: dict, reference):
        state, metrics = self._step(state, batch, reference)
        if self.kind == "pmap":
            metrics = jax.tree.map(lambda x: x[0], metrics)
        return state, metrics


def initialize_distributed() -> None:
    """`jax.distributed.initialize()` when a multi-process launch is detected (the coordinator
    address in JAX_COORDINATOR_ADDRESS, or a SLURM/Open MPI/Cloud TPU environment)."""
    import os

    launched = any(
        key in os.environ
        for key in ("JAX_COORDINATOR_ADDRESS", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE")
    )
    if launched:
        try:
            jax.distributed.initialize()
        except RuntimeError as err:  # already initialised by the caller
            if "already" not in str(err):
                raise
