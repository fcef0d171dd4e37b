"""Data parallelism: the pure step under `jax.pmap` over all local devices (default), or under
`jax.jit` with the batch sharded over a device mesh. Since JAX 0.8 `jax.pmap` is built on
`jit` + `shard_map` (maintenance mode, no deprecation warning through JAX 0.12); its per-device
inputs are placed as arrays with a leading device axis sharded over a mesh of the local devices
(what the removed `jax.device_put_replicated` / `device_put_sharded` did). Multi-host:
`jax.distributed.initialize()` first; each process feeds its own devices from its own shard of
the data (Grain), and the step's sums run over all devices.
"""

from __future__ import annotations

import os
from functools import partial

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from talkmesh_jax import TalkmeshError

AXIS = "devices"
BATCH_KEYS = ("audio", "landmarks", "mask", "blendshapes")  # those a batch has go to the devices


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
            local_mesh = Mesh(np.array(self.local_devices), (AXIS,))
            self._per_device = NamedSharding(local_mesh, PartitionSpec(AXIS))
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
            n = self.num_local_devices
            return jax.tree.map(
                lambda x: jax.device_put(np.broadcast_to(x, (n, *np.shape(x))), self._per_device),
                state,
            )
        return jax.device_put(state, self._replicated)

    def get_state(self, state):
        """The state as host arrays (one replica): this process's own copy, also when the state
        spans the devices of several processes."""
        if self.kind == "pmap":
            return jax.tree.map(lambda x: np.asarray(x.addressable_data(0))[0], state)
        return jax.tree.map(lambda x: np.asarray(x.addressable_data(0)), state)

    def put_batch(self, batch: dict) -> dict:
        """This process's part of the global batch: arrays with a leading [B_local] axis."""
        arrays = {key: np.asarray(batch[key]) for key in BATCH_KEYS if key in batch}
        n = self.num_local_devices
        if len(arrays["audio"]) % n:
            raise TalkmeshError(
                f"the per-process batch ({len(arrays['audio'])}) must divide by the {n} devices"
            )
        if self.kind == "pmap":
            return {
                k: jax.device_put(v.reshape(n, -1, *v.shape[1:]), self._per_device)
                for k, v in arrays.items()
            }
        return {
            k: jax.make_array_from_process_local_data(self._sharded, v) for k, v in arrays.items()
        }

    def step(self, state, batch: dict, reference):
        state, metrics = self._step(state, batch, reference)
        if self.kind == "pmap":
            metrics = jax.tree.map(lambda x: x[0], metrics)
        return state, metrics


def initialize_distributed() -> None:
    """Joins a multi-process run when one is launched, before any JAX computation.

    Either talkmesh's variables (JAX_COORDINATOR_ADDRESS=host:port, JAX_NUM_PROCESSES,
    JAX_PROCESS_ID; one process per host) or a launcher JAX detects itself (SLURM, Open MPI).
    CPU processes exchange collectives through gloo.
    """
    env = os.environ
    explicit = "JAX_NUM_PROCESSES" in env or "JAX_PROCESS_ID" in env
    detected = any(key in env for key in ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"))
    if not explicit and not detected:
        return
    kwargs = {}
    if explicit:
        missing = [
            k
            for k in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")
            if k not in env
        ]
        if missing:
            raise TalkmeshError(f"multi-process launch: {', '.join(missing)} not set")
        kwargs = {
            "coordinator_address": env["JAX_COORDINATOR_ADDRESS"],
            "num_processes": int(env["JAX_NUM_PROCESSES"]),
            "process_id": int(env["JAX_PROCESS_ID"]),
        }
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(**kwargs)
    except RuntimeError as err:  # already initialised by the caller
        if "already" not in str(err):
            raise


def is_primary() -> bool:
    """Process 0: the one that writes logs and shared files."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Waits until every process reaches the barrier `name` (no-op in a single process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
