"""A small synthetic dataset shared by the training tests."""

import pytest

from talkmesh_jax.data.synth import synth_dataset


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_synth") / "data"
    synth_dataset(root, clips=12, seed=5, show_progress=False)
    return root
