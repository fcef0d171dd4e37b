"""The config system: Python configs, overrides, resolved JSON."""

from pathlib import Path

import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.config import apply_overrides, config_to_dict, load_config, save_config

CONFIGS = Path(__file__).parents[1] / "configs"


@pytest.mark.parametrize("name", ["tiny", "original", "large_gpu"])
def test_shipped_configs_load_and_round_trip(name, tmp_path):
    config = load_config(CONFIGS / f"{name}.py")
    save_config(config, tmp_path / "config.json")
    assert config_to_dict(load_config(tmp_path / "config.json")) == config_to_dict(config)


def test_shipped_configs_are_found_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("tiny", "tiny.py", "large_gpu", "meshtalk_tiny", "meshtalk_mesh"):
        expected = load_config(CONFIGS / f"{Path(name).stem}.py")
        assert config_to_dict(load_config(name)) == config_to_dict(expected)
    with pytest.raises(
        TalkmeshError,
        match="shipped configs: large_gpu, meshtalk_mesh, meshtalk_tiny, original, tiny",
    ):
        load_config("tinny")
    (tmp_path / "tiny.py").write_text("def get_config():\n    raise RuntimeError('mine')\n")
    with pytest.raises(TalkmeshError, match="mine"):  # a file of that name comes first
        load_config("tiny.py")


def test_original_defaults():
    config = load_config(CONFIGS / "original.py")
    assert config.model.feature_dim == 64 and config.train.optimizer == "lion"
    assert config.train.learning_rate == 1e-4 and config.data.batch_size == 8
    assert config.data.window_frames == 125 and config.model.audio_encoder.size == "small"


def test_overrides(tmp_path):
    config = load_config(CONFIGS / "tiny.py")
    apply_overrides(
        config, ["train.learning_rate=1", "model.audio_encoder.kind=whisper", "train.steps=7"]
    )
    assert config.train.learning_rate == 1.0 and isinstance(config.train.learning_rate, float)
    assert config.model.audio_encoder.kind == "whisper" and config.train.steps == 7
    for bad, message in [
        ("train.lr=1", "unknown key"),
        ("nothing.x=1", "no config section"),
        ("train.steps", "expected key=value"),
    ]:
        with pytest.raises(TalkmeshError, match=message):
            apply_overrides(config, [bad])


def test_bad_config_files(tmp_path):
    (tmp_path / "broken.py").write_text("def get_config(:\n")
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(TalkmeshError, match="cannot be loaded"):
        load_config(tmp_path / "broken.py")
    with pytest.raises(TalkmeshError, match="no get_config"):
        load_config(tmp_path / "empty.py")
    with pytest.raises(TalkmeshError, match="no such config"):
        load_config(tmp_path / "missing.py")


def test_a_value_of_the_wrong_type_is_one_line():
    config = load_config(CONFIGS / "tiny.py")
    with pytest.raises(TalkmeshError, match=r"train.steps must be of type int .* not 'abc'"):
        apply_overrides(config, ["train.steps=abc"])
