"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory):
    """A small synthetic dataset (12 clips, landmarks and blendshapes)."""
    from talkmesh_jax.data.synth import synth_dataset

    root = tmp_path_factory.mktemp("train_synth") / "data"
    synth_dataset(root, clips=12, seed=5, show_progress=False)
    return root


TRAINED_RUN_OPTIONS = ["data.window_frames=20", "data.batch_size=4", "model.feature_dim=16"]


@pytest.fixture(scope="session")
def trained_run(synth_data, tmp_path_factory):
    """`tiny` trained for 12 steps on synth_data (window 20, feature_dim 16), checkpoints at 6
    and 12. Readers only: tests must not change it."""
    from talkmesh_jax.cli import main

    run = tmp_path_factory.mktemp("run") / "run"
    argv = ["train", "--config", "configs/tiny.py", "--workdir", str(run)]
    argv += ["--data", str(synth_data), "--steps", "12", "--no-progress", "checkpoint.every=6"]
    assert main(argv + TRAINED_RUN_OPTIONS) == 0
    return run
