"""orbax checkpoints of a run: training state, data iterator state and the inference parameters;
the last K and the best kept.

Layout: RUN/checkpoints/<step>/{state, data, inference}: `state` is everything training resumes
from (parameters, optimiser moments, EMA), `inference` only the parameters that eval and export use
(the EMA when on, else the parameters), so readers restore that alone, from abstract shapes.
Writers (training) create the folder and clean up orbax's temporary folders of an interrupted
save; readers open it read-only and never create, change or delete anything in it.
Metrics {"valid_score"} are stored with each step: the
validation LVE (cm) of landmark models, the blendshape MAE of blendshape-only models (runs made
before blendshapes stored it as "valid_lve", which is still read).
orbax writes a step into a temporary directory and renames it when complete, so a checkpoint being
written when the process dies never becomes the latest one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint.checkpoint_managers import AnyPreservationPolicy, BestN, LatestN

from talkmesh_jax import TalkmeshError
from talkmesh_jax.run_dir import RunDir

METRIC = "valid_score"
OLD_METRIC = "valid_lve"  # the same score in runs made before blendshape targets


def _score(metrics: dict | None) -> float:
    if not metrics:
        return float("inf")
    return float(metrics.get(METRIC, metrics.get(OLD_METRIC, float("inf"))))


ITEMS = ("state", "data", "inference")


@contextmanager
def _absl_errors_only(active: bool) -> Iterator[None]:
    """Raises absl's log threshold to ERROR while active (orbax logs through absl)."""
    if not active:
        yield
        return
    from absl import logging as absl_logging

    previous = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        yield
    finally:
        absl_logging.set_verbosity(previous)


def has_checkpoint(workdir: str | os.PathLike) -> bool:
    """Whether RUN/checkpoints holds a complete step (orbax renames a step's folder to its number
    only when it is complete), without opening a manager."""
    directory = RunDir(workdir).checkpoints
    return directory.is_dir() and any(p.name.isdigit() for p in directory.iterdir())


class Checkpointer:
    """Saves and restores checkpoints under RUN/checkpoints (read-only for readers)."""

    def __init__(
        self,
        workdir: str | os.PathLike,
        keep: int = 3,
        keep_best: bool = True,
        read_only: bool = False,
    ):
        policies = [LatestN(n=keep)]
        if keep_best:
            # without validation data no step has a score: the last K are all that is kept
            policies.append(
                BestN(
                    get_metric_fn=_score, reverse=True, n=1, keep_checkpoints_without_metrics=False
                )
            )
        self.directory = RunDir(Path(workdir).absolute()).checkpoints
        if read_only and not self.directory.is_dir():
            raise TalkmeshError(f"{workdir}: no checkpoint yet (train first)")
        with _absl_errors_only(read_only):  # orbax warns that read-only means read-only
            options = ocp.CheckpointManagerOptions(
                preservation_policy=AnyPreservationPolicy(policies),
                # orbax writes a step's metrics only when it tracks a best_fn (the policies
                # above still decide what is kept)
                best_fn=_score if keep_best else None,
                best_mode="min",
                enable_async_checkpointing=False,
                cleanup_tmp_directories=not read_only,
                create=not read_only,
                read_only=read_only,
            )
            self.manager = ocp.CheckpointManager(self.directory, options=options, item_names=ITEMS)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        """The kept step with the lowest validation score (the latest if none has metrics)."""
        best, best_value = None, float("inf")
        for step in self.manager.all_steps():
            value = _score(self.manager.metrics(step))
            if value < best_value:
                best, best_value = step, value
        return best if best is not None else self.latest_step()

    def save(self, step: int, state, data_state: dict, inference, score: float | None) -> None:
        """Saves `step`: the training state, the iterator state and the inference parameters;
        `score` is the validation score (lower is better) or None."""
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data=ocp.args.JsonSave(data_state),
            inference=ocp.args.StandardSave(inference),
        )
        metrics = {METRIC: float(score)} if score is not None else None
        with _absl_errors_only(metrics is None):  # orbax warns about a step without a score
            self.manager.save(step, args=args, metrics=metrics, force=True)
        self.manager.wait_until_finished()

    def restore(self, step: int, abstract_state) -> tuple[object, dict]:
        """(state shaped like `abstract_state`, iterator state) of `step`."""
        args = ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore()
        )
        restored = self.manager.restore(step, args=args)
        return restored["state"], restored["data"]

    def restore_inference(self, step: int, abstract_params):
        """The inference parameters of `step`, shaped like `abstract_params` (nothing else of
        the training state is read)."""
        if not (self.directory / str(step) / "inference").is_dir():
            raise TalkmeshError(
                f"{self.directory / str(step)}: no inference parameters (the run was made before "
                "they were saved apart); train it a few steps further (talkmesh train --workdir "
                "RUN --steps N, with --force-resume under a cosine schedule) to write a checkpoint "
                "that has them"
            )
        args = ocp.args.Composite(inference=ocp.args.StandardRestore(abstract_params))
        return self.manager.restore(step, args=args)["inference"]

    def close(self) -> None:
        self.manager.close()


def abstract_like(state):
    """ShapeDtypeStructs of a host state, for restoring without allocating twice."""
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
