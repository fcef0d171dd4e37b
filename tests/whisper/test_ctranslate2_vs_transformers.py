"""CTranslate2 checkpoints against Hugging Face transformers (PyTorch) on the real Whisper tiny.en:
`talkmesh whisper convert`'s output loads with every key, transcribes, and our encoder (from the
CTranslate2 directory or the converted one) matches transformers'. Needs torch: the
torch-reference extra."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from talkmesh_jax.whisper.encoder import WhisperEncoder
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram
from talkmesh_jax.whisper.weights import load_whisper_encoder
from tests.helpers import NO_TORCH

pytestmark = pytest.mark.torch_reference
torch = pytest.importorskip("torch", reason=NO_TORCH)
transformers = pytest.importorskip("transformers")


def test_converted_checkpoint_loads_in_transformers_with_no_key_left(tiny_en_hf) -> None:
    model, info = transformers.WhisperForConditionalGeneration.from_pretrained(
        tiny_en_hf, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    config = model.config
    assert (config.vocab_size, config.decoder_layers, config.decoder_start_token_id) == (
        51864,
        4,
        50257,
    )
    # the decoder really has the pretrained weights: the output projection is the embedding
    embed = model.model.decoder.embed_tokens.weight
    assert torch.equal(model.proj_out.weight, embed) and float(embed.detach().std()) > 0.01
    assert oct((tiny_en_hf / "model.safetensors").stat().st_mode & 0o044) == "0o44"


def test_greedy_transcription_of_espeak_speech_is_right(tiny_en_hf, fox_sentence) -> None:
    model = transformers.WhisperForConditionalGeneration.from_pretrained(tiny_en_hf).eval()
    processor = transformers.WhisperProcessor.from_pretrained(tiny_en_hf)
    features = processor(fox_sentence[1], sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        tokens = model.generate(features.input_features, do_sample=False, num_beams=1)
    text = processor.batch_decode(tokens, skip_special_tokens=True)[0].lower()
    for words in ("the quick brown fox", "over the lazy dog"):
        assert words in text, text


@pytest.mark.parametrize("source", ["ct2", "hf"])
def test_flax_encoder_matches_transformers_on_real_weights(
    source, tiny_en_ct2, tiny_en_hf, fox_sentence
) -> None:
    reference_model = transformers.WhisperForConditionalGeneration.from_pretrained(tiny_en_hf)
    audio = fox_sentence[1][None]
    processor = transformers.WhisperFeatureExtractor.from_pretrained(tiny_en_hf)
    mel = processor(list(audio), sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        reference = reference_model.model.encoder(mel).last_hidden_state.numpy()
    config, params = load_whisper_encoder(tiny_en_ct2 if source == "ct2" else tiny_en_hf)
    ours = jax.jit(WhisperEncoder(config).apply)(
        {"params": params}, log_mel_spectrogram(audio, 80, WHISPER_SAMPLES)
    )
    assert ours.shape == reference.shape == (1, 1500, 384)
    assert float(np.abs(reference).max()) > 1.0  # real activations, not a degenerate input
    assert np.abs(np.asarray(ours) - reference).max() <= 1e-4
