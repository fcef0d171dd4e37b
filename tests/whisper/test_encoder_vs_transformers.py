"""The Flax Whisper encoder against Hugging Face transformers' PyTorch Whisper (same random
weights, 30 s padded input) and the loader on transformers' own files (safetensors of
`WhisperForConditionalGeneration`, `pytorch_model.bin`). Needs torch: the torch-reference extra."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax.bench.encoder_baselines import hf_whisper_config
from talkmesh_jax.whisper.encoder import WhisperAudioEncoder, WhisperEncoder, WhisperEncoderConfig
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram
from talkmesh_jax.whisper.weights import load_whisper_encoder
from tests.helpers import NO_TORCH
from tests.whisper.test_encoder import sample_audio

pytestmark = pytest.mark.torch_reference
torch = pytest.importorskip("torch", reason=NO_TORCH)
transformers = pytest.importorskip("transformers")


def save_random(tmp_path, bins: int = 80, cls=None, **save_kwargs):
    """A random transformers Whisper (PyTorch) with a small encoder, saved in `tmp_path`."""
    config = hf_whisper_config(WhisperEncoderConfig(bins, 64, 2, 4, 128, 1500))
    torch.manual_seed(bins)
    model = (cls or transformers.WhisperModel)(config).eval()
    model.save_pretrained(tmp_path, **save_kwargs)
    return model


@pytest.mark.parametrize("bins", [80, 128])
def test_encoder_matches_pytorch_on_30s_padded_input(tmp_path, bins: int) -> None:
    model = save_random(tmp_path, bins)
    config, params = load_whisper_encoder(tmp_path)
    assert config.num_mel_bins == bins and config.d_model == 64
    audio = sample_audio()
    features = transformers.WhisperFeatureExtractor(feature_size=bins)(
        list(audio), sampling_rate=16000, return_tensors="pt"
    ).input_features
    with torch.no_grad():
        reference = model.encoder(features).last_hidden_state.numpy()
    mel = log_mel_spectrogram(audio, bins, WHISPER_SAMPLES)
    ours = jax.jit(WhisperEncoder(config).apply)({"params": params}, mel)
    assert ours.shape == reference.shape == (2, 1500, 64)
    assert np.abs(np.asarray(ours) - reference).max() <= 1e-4
    # End to end from raw audio, keeping the window's own positions.
    module = WhisperAudioEncoder(config, context="padded")
    end_to_end = module.apply({"params": {"encoder": params}}, jnp.asarray(audio))
    assert end_to_end.shape == (2, 250, 64)
    assert np.abs(np.asarray(end_to_end) - reference[:, :250]).max() <= 1e-4


def test_loads_conditional_generation_and_pytorch_bin(tmp_path) -> None:
    model = save_random(tmp_path / "st", cls=transformers.WhisperForConditionalGeneration)
    _, from_safetensors = load_whisper_encoder(tmp_path / "st")
    (tmp_path / "bin").mkdir()  # transformers 5 writes only safetensors: make the .bin by hand
    (tmp_path / "bin" / "config.json").write_text((tmp_path / "st" / "config.json").read_text())
    torch.save(model.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    _, from_bin = load_whisper_encoder(tmp_path / "bin")
    differences = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), from_safetensors, from_bin)
    assert max(jax.tree.leaves(differences)) == 0.0
    expected = model.model.encoder.layers[1].fc1.weight.detach().numpy().T
    np.testing.assert_array_equal(from_bin["layers_1"]["fc1"]["kernel"], expected)
