"""The Flax Whisper encoder and its Hugging Face checkpoint loader, on random checkpoints written
with numpy (`tests/helpers.save_random_whisper`); against PyTorch transformers in
`test_encoder_vs_transformers.py` (the torch-reference extra)."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from talkmesh_jax import TalkmeshError
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.models.audio_encoder import AudioEncoderConfig, build_audio_encoder
from talkmesh_jax.whisper.encoder import WhisperAudioEncoder, WhisperEncoderConfig
from talkmesh_jax.whisper.hf_cache import cached_snapshot, hub_cache
from talkmesh_jax.whisper.weights import load_whisper_encoder
from tests.helpers import save_random_whisper

SMALL = WhisperEncoderConfig(80, 64, 2, 4, 128, 1500)


def save_random(directory) -> dict:
    return save_random_whisper(directory, SMALL)


def sample_audio() -> np.ndarray:
    audio = speechlike(2, 5 * 16000, seed=3)
    audio[1] += 0.05 * np.random.default_rng(0).standard_normal(audio.shape[1])  # noisy
    return audio


def test_window_encoding_and_padding_choice(tmp_path) -> None:
    save_random(tmp_path)
    config, params = load_whisper_encoder(tmp_path)
    variables = {"params": {"encoder": params}}
    audio = jnp.asarray(sample_audio())
    window = WhisperAudioEncoder(config, context="window").apply(variables, audio)
    padded = WhisperAudioEncoder(config, context="padded").apply(variables, audio)
    assert window.shape == padded.shape == (2, 250, 64)
    window, padded = np.asarray(window), np.asarray(padded)
    relative = np.sqrt(np.mean((window - padded) ** 2)) / np.sqrt(np.mean(padded**2))
    # Attention sees 5 s instead of 30 s, so they differ a little (measured 0.025 with these
    # random weights); the wrong positional embeddings or misaligned frames give ≥ 1 (frames
    # reversed: 1.16).
    assert 0.005 < relative < 0.1
    cosine = (window * padded).sum(-1) / np.linalg.norm(window, axis=-1)
    assert (cosine / np.linalg.norm(padded, axis=-1)).min() > 0.95  # frame by frame


def test_frozen_encoder_gets_no_gradient(tmp_path) -> None:
    save_random(tmp_path)
    config, params = load_whisper_encoder(tmp_path)
    audio = jnp.asarray(sample_audio())

    def loss(p, frozen: bool) -> jnp.ndarray:
        module = WhisperAudioEncoder(config, frozen=frozen)
        return jnp.sum(module.apply({"params": {"encoder": p}}, audio) ** 2)

    frozen = jax.grad(loss)(params, True)
    tuned = jax.grad(loss)(params, False)
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(frozen)) == 0.0
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(tuned)) > 0.0


def test_bfloat16_compute_is_close(tmp_path) -> None:
    save_random(tmp_path)
    config, params = load_whisper_encoder(tmp_path)
    audio = jnp.asarray(sample_audio())
    variables = {"params": {"encoder": params}}
    f32 = WhisperAudioEncoder(config).apply(variables, audio)
    bf16 = WhisperAudioEncoder(config, dtype=jnp.bfloat16).apply(variables, audio)
    assert bf16.dtype == jnp.bfloat16
    error = jnp.sqrt(jnp.mean((bf16.astype(jnp.float32) - f32) ** 2) / jnp.mean(f32**2))
    assert float(error) < 0.05


def edit_safetensors(directory, edit) -> None:
    tensors = load_file(str(directory / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(directory / "model.safetensors"))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: (d / "config.json").unlink(), r"config.json: missing"),
        (lambda d: (d / "model.safetensors").unlink(), "no model.safetensors"),
        (
            lambda d: (d / "model.safetensors").write_bytes(b"junk"),
            "model.safetensors: cannot be read",
        ),
        (
            lambda d: edit_safetensors(d, lambda t: t.pop("encoder.layers.1.fc2.bias")),
            "missing tensor encoder.layers.1.fc2.bias",
        ),
        (
            lambda d: edit_safetensors(
                d, lambda t: t.update({"encoder.conv1.weight": np.zeros((64, 80, 5), np.float32)})
            ),
            r"tensor encoder.conv1.weight has shape \(64, 80, 5\), expected \(64, 80, 3\)",
        ),
        (
            lambda d: edit_safetensors(
                d,
                lambda t: t.update(
                    {"encoder.layers.0.self_attn.k_proj.bias": np.zeros(64, np.float32)}
                ),
            ),
            "unexpected encoder tensor encoder.layers.0.self_attn.k_proj.bias",
        ),
        (
            lambda d: edit_safetensors(
                d, lambda t: [t.pop(k) for k in list(t) if k.startswith("encoder.")]
            ),
            "no encoder tensors",
        ),
        (
            lambda d: (d / "config.json").write_text(json.dumps({"model_type": "whisper"})),
            "config.json: missing field 'num_mel_bins'",
        ),
        (
            lambda d: (d / "config.json").write_text(json.dumps({"model_type": "bert"})),
            "model_type is 'bert', not 'whisper'",
        ),
        (lambda d: (d / "config.json").write_text("{"), "config.json: not valid JSON"),
    ],
)
def test_loader_errors_name_the_problem(tmp_path, breakage, message) -> None:
    save_random(tmp_path)
    breakage(tmp_path)
    with pytest.raises(TalkmeshError, match=message):
        load_whisper_encoder(tmp_path)


def test_model_id_not_on_disk_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(TalkmeshError, match="hf download openai/whisper-tiny"):
        load_whisper_encoder("openai/whisper-tiny")


def test_model_id_in_the_hf_cache_loads_its_snapshot(tmp_path, monkeypatch) -> None:
    """huggingface_hub's cache layout: refs/main names the snapshot; a commit hash works too."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--openai--whisper-tiny"
    save_random(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit + "\n")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    config, params = load_whisper_encoder("openai/whisper-tiny")
    _, direct = load_whisper_encoder(repo / "snapshots" / commit)
    assert config.d_model == 64
    np.testing.assert_array_equal(params["conv1"]["kernel"], direct["conv1"]["kernel"])
    assert cached_snapshot("openai/whisper-tiny", commit) == repo / "snapshots" / commit
    assert cached_snapshot("openai/whisper-tiny", "v2") is None
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub_cache() == tmp_path / "home" / "hub"


def test_encoder_config_rejects_unknown_fields() -> None:
    with pytest.raises(TalkmeshError, match="unknown field 'pad_to_30sec'"):
        AudioEncoderConfig.from_dict({"pad_to_30sec": True})
    with pytest.raises(TalkmeshError, match="kind must be 'whisper' or 'conv'"):
        AudioEncoderConfig.from_dict({"kind": "wav2vec"})
    with pytest.raises(TalkmeshError, match="size must be one of"):
        AudioEncoderConfig.from_dict({"size": "huge"})


def test_audio_encoder_from_config_loads_the_checkpoint(tmp_path) -> None:
    save_random(tmp_path)
    config = AudioEncoderConfig.from_dict({"checkpoint": str(tmp_path), "pad_to_30s": True})
    module, params = build_audio_encoder(config)
    assert module.config.d_model == 64 and module.context == "padded"  # legacy key
    assert params["encoder"]["conv1"]["kernel"].shape == (3, 80, 64)
