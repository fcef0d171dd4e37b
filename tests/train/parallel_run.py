"""Run in a subprocess with 4 host devices: the same steps on 1 device, pmap over 4, jit over 4,
predicting landmarks and blendshapes (batches carry both).

Prints JSON: the largest parameter difference of each parallel path from the 1-device run.
"""

import json
import os
import sys
from functools import partial

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from talkmesh_jax.config import apply_overrides  # noqa: E402
from talkmesh_jax.train.defaults import default_config  # noqa: E402
from talkmesh_jax.train.parallel import DataParallel  # noqa: E402
from talkmesh_jax.train.setup import build  # noqa: E402
from talkmesh_jax.train.step import make_train_step  # noqa: E402


def _gradient_is_zero(path) -> bool:
    """The self-attention key bias: adding one vector to every key shifts each query's logits by a
    constant, which softmax ignores, so its gradient is zero but for rounding; adam scales that
    rounding noise up to steps of about the learning rate, different on every device layout
    (measured 2.1e-4 on JAX 0.12, on a parameter of size 7.5e-5). Left out of the comparison."""
    name = jax.tree_util.keystr(path)
    return "projections_key" in name and "bias" in name


def main(mode: str) -> None:
    assert jax.local_device_count() == 4
    config = default_config()
    apply_overrides(
        config,
        [
            "model.num_landmarks=468",
            "data.window_frames=10",
            "data.batch_size=8",
            f"train.mode={mode!r}",
            "train.optimizer='adam'",
            "train.learning_rate=1e-2",
            "train.ema_decay=0.9",
            "model.feature_dim=16",
            "model.align_window=1",
            "model.audio_encoder.kind='conv'",
            "model.audio_encoder.frozen=False",
            "model.audio_encoder.conv_channels=8",
            "model.audio_encoder.conv_features=8",
            "model.targets='landmarks+blendshapes'",
        ],
    )
    setup = build(config)
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(4):
        mask = rng.random((8, 10)) > 0.3  # unequal valid counts per device
        batches.append(
            {
                "audio": rng.normal(size=(8, 6400)).astype(np.float32),
                "landmarks": rng.normal(0, 0.5, (8, 10, 468, 3)).astype(np.float32),
                "blendshapes": rng.random((8, 10, 52)).astype(np.float32),
                "mask": mask,
            }
        )
    reference = jnp.zeros((468, 3))
    step = make_train_step(setup.family, setup.tx, config)
    single = jax.jit(partial(step, axis_name=None))
    state, losses = setup.state, []
    for batch in batches:
        state, metrics = single(state, {k: jnp.asarray(v) for k, v in batch.items()}, reference)
        losses.append([float(metrics["loss"]), float(metrics["grad_norm"])])
    result = {"single": losses}
    for kind in ("pmap", "jit"):
        runner = DataParallel(step, kind)
        device_state, losses = runner.put_state(setup.state), []
        for batch in batches:
            device_state, metrics = runner.step(device_state, runner.put_batch(batch), reference)
            losses.append([float(metrics["loss"]), float(metrics["grad_norm"])])
        other = runner.get_state(device_state)
        diffs = jax.tree_util.tree_map_with_path(
            lambda path, a, b: (
                0.0
                if _gradient_is_zero(path)
                else float(np.abs(np.asarray(a) - np.asarray(b)).max())
            ),
            (state.params, state.ema_params),
            (other.params, other.ema_params),
        )
        scale = max(float(np.abs(np.asarray(x)).max()) for x in jax.tree.leaves(state.params))
        result[kind] = {
            "max_abs_diff": max(jax.tree.leaves(diffs)),
            "max_abs_param": scale,
            "loss_and_grad_norm": losses,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
