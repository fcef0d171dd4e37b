"""Multi-process training for real: two processes joined by `jax.distributed` (gloo on CPU), two
devices each, every process reading its own Grain shard, log the same losses as one process with
four devices and the same global batch — and keep doing so across a resume, where each process
gets its own shard back."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

ARGS = [
    "--config",
    "tiny",
    "--no-progress",
    "checkpoint.every=3",
    "log.every=1",
    "train.schedule='constant'",  # the run is stopped by a smaller --steps, then resumed
    "data.window_frames=20",
    "data.batch_size=4",
    "model.feature_dim=16",
    "model.audio_encoder.conv_channels=16",
    "model.audio_encoder.conv_features=16",
    "eval.max_windows=4",
    "eval.batch_size=4",
]
CLI = "import sys; from talkmesh_jax.cli import main; sys.exit(main())"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _train(workdir, data, steps: int, processes: int, devices: int) -> None:
    argv = [sys.executable, "-c", CLI, "train", "--workdir", str(workdir), "--data", str(data)]
    argv += ["--steps", str(steps), *ARGS]
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    if processes > 1:
        env.update(JAX_COORDINATOR_ADDRESS=f"localhost:{_free_port()}")
        env.update(JAX_NUM_PROCESSES=str(processes))
    runs = [
        subprocess.Popen(
            argv,
            env=dict(env, JAX_PROCESS_ID=str(i)) if processes > 1 else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(processes)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]


def _records(run) -> dict[int, dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    records = {}
    for line in lines:
        record = json.loads(line)
        records.setdefault(record["step"], {}).update(record)
    return records


@pytest.mark.slow
def test_two_processes_match_one_and_resume(synth_data, tmp_path):
    _train(tmp_path / "one", synth_data, 6, processes=1, devices=4)
    _train(tmp_path / "two", synth_data, 3, processes=2, devices=2)
    _train(tmp_path / "two", synth_data, 6, processes=2, devices=2)  # resumes at step 3
    one, two = _records(tmp_path / "one"), _records(tmp_path / "two")
    assert sorted(one) == sorted(two) == list(range(1, 7))  # one writer, no duplicate lines
    for key in ("loss", "grad_norm"):
        np.testing.assert_allclose(
            [two[s][key] for s in two], [one[s][key] for s in one], rtol=1e-4
        )
    np.testing.assert_allclose(two[6]["valid_lve"], one[6]["valid_lve"], rtol=1e-4)
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == ["3", "6"]
