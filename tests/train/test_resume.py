"""A run killed with SIGKILL at a random step and resumed logs the same losses as one that was
never interrupted; a half-written checkpoint never becomes the latest."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from talkmesh_jax.checkpoints import Checkpointer
from talkmesh_jax.cli import main

ARGS = [
    "--config",
    "configs/tiny.py",
    "--steps",
    "24",
    "--no-progress",
    "checkpoint.every=6",
    "log.every=1",
    "data.window_frames=20",
    "data.batch_size=4",
    "model.feature_dim=16",
    "eval.max_windows=4",
    "eval.batch_size=4",
]


def _losses(run) -> dict[int, float]:
    path = run / "metrics.jsonl"
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    records = [json.loads(line) for line in lines if line.endswith("\n")]  # complete lines
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def test_sigkill_and_resume_give_the_same_losses(synth_data, tmp_path):
    data = ["--data", str(synth_data)]
    assert main(["train", "--workdir", str(tmp_path / "straight"), *data, *ARGS]) == 0
    straight = _losses(tmp_path / "straight")
    assert sorted(straight) == list(range(1, 25))

    run = tmp_path / "killed"
    kill_at = int(np.random.default_rng().integers(8, 20))  # a random step past a checkpoint
    command = [sys.executable, "-m", "talkmesh_jax.cli", "train", "--workdir", str(run)]
    process = subprocess.Popen(command + data + ARGS, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while max(_losses(run), default=0) < kill_at:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert max(_losses(run)) < 24  # it really was interrupted

    assert main(["train", "--workdir", str(run), "--no-progress"]) == 0  # resumes from RUN
    assert _losses(run) == straight  # bitwise: same batches, same state, same order


def test_half_written_checkpoint_is_not_latest(synth_data, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--workdir", str(run), "--data", str(synth_data), *ARGS]) == 0
    steps = Checkpointer(run).manager.all_steps()
    assert max(steps) == 24
    # What orbax leaves when the process dies mid-save: a temporary directory for a later step.
    partial = run / "checkpoints" / "30.orbax-checkpoint-tmp-1234567"
    (partial / "state").mkdir(parents=True)
    (partial / "state" / "half").write_bytes(b"\0" * 100)
    checkpointer = Checkpointer(run)
    assert checkpointer.latest_step() == 24
    checkpointer.close()
