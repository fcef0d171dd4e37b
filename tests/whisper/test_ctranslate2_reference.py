"""Our Whisper encoder against CTranslate2 (faster-whisper's engine, a test dependency) on the real
tiny.en weights shipped with the install: the same log-mel in, the same features out; those
features, decoded greedily by CTranslate2's decoder, transcribe the sentence; and int8/int16
checkpoints that CTranslate2 itself quantizes load (dequantized) to what CTranslate2 computes
with them in float32."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from talkmesh_jax.whisper.ct2_writer import write_ctranslate2
from talkmesh_jax.whisper.ctranslate2 import read_model_bin
from talkmesh_jax.whisper.encoder import WhisperEncoder
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram
from talkmesh_jax.whisper.weights import load_whisper_encoder

ctranslate2 = pytest.importorskip("ctranslate2")


def _ours(directory, mel: np.ndarray) -> np.ndarray:
    config, params = load_whisper_encoder(directory)
    return np.asarray(jax.jit(WhisperEncoder(config).apply)({"params": params}, mel))


def _theirs(directory, mel: np.ndarray, compute_type: str = "float32"):
    """(CTranslate2's model, its encoder output [B, 1500, D]) for our log-mel [B, 3000, bins]."""
    model = ctranslate2.models.Whisper(
        str(directory), device="cpu", compute_type=compute_type, intra_threads=2
    )
    features = ctranslate2.StorageView.from_array(np.array(mel.transpose(0, 2, 1), order="C"))
    return model, np.asarray(model.encode(features, to_cpu=True))


@pytest.fixture(scope="module")
def fox_mel(fox_sentence) -> np.ndarray:
    return np.asarray(log_mel_spectrogram(fox_sentence[1][None], 80, WHISPER_SAMPLES))


def test_encoder_matches_ctranslate2_on_real_tiny_en(tiny_en_ct2, fox_mel) -> None:
    ours = _ours(tiny_en_ct2, fox_mel)
    _, theirs = _theirs(tiny_en_ct2, fox_mel)
    assert ours.shape == theirs.shape == (1, 1500, 384)
    assert float(np.abs(theirs).max()) > 1.0  # real activations
    assert np.abs(ours - theirs).max() <= 2e-4


def _greedy(model, features: np.ndarray) -> tuple[list[int], str]:
    """CTranslate2's greedy transcription: (token ids, text). The text joins the byte-level BPE
    tokens CTranslate2 returns ('Ġ' marks a space), so no tokenizer package is needed."""
    prompt = ["<|startoftranscript|>", "<|notimestamps|>"]  # tiny.en: no language, no task
    view = ctranslate2.StorageView.from_array(np.array(features, np.float32, order="C"))
    result = model.generate(view, [prompt], beam_size=1)[0]
    return result.sequences_ids[0], "".join(result.sequences[0]).replace("Ġ", " ")


def test_our_features_transcribe_with_ctranslate2s_decoder(tiny_en_ct2, fox_mel) -> None:
    """CTranslate2's generate accepts encoder output: fed ours, its greedy decoder writes the
    sentence, token for token what it writes from its own encoder."""
    model, theirs = _theirs(tiny_en_ct2, fox_mel)
    tokens, text = _greedy(model, _ours(tiny_en_ct2, fox_mel))
    assert tokens == _greedy(model, fox_mel.transpose(0, 2, 1))[0]
    text = text.lower()
    for words in ("the quick brown fox", "over the lazy dog"):
        assert words in text, text


def _dtypes(file) -> dict[str, int]:
    """{variable: CTranslate2 dtype code} of a model.bin (an independent header scan)."""
    import struct

    data = file.read_bytes()
    at = 4

    def string() -> str:
        nonlocal at
        (length,) = struct.unpack_from("<H", data, at)
        at += 2 + length
        return data[at - length : at - 1].decode()

    string()
    at += 4
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    codes = {}
    for _ in range(count):
        name = string()
        rank = data[at]
        at += 1 + 4 * rank
        code, size = struct.unpack_from("<BI", data, at)
        at += 5 + size
        codes[name] = code
    return codes


@pytest.mark.parametrize("quantization, code", [("int8", 1), ("int16", 2)])
def test_quantized_checkpoint_written_by_ctranslate2_loads(
    tmp_path, tiny_en_ct2, fox_mel, quantization, code
) -> None:
    """tiny.en quantized by CTranslate2's own spec code; its float32 output on that file is
    the reference for our dequantized weights."""
    out = tmp_path / quantization
    variables = read_model_bin(tiny_en_ct2 / "model.bin")
    write_ctranslate2(variables, out, tiny_en_ct2, quantization=quantization)
    codes = _dtypes(out / "model.bin")
    assert codes["encoder/layer_0/ffn/linear_0/weight"] == code
    assert "encoder/layer_0/ffn/linear_0/weight_scale" in codes
    config, params = load_whisper_encoder(out)
    _, floats = load_whisper_encoder(tiny_en_ct2)
    kernel = np.asarray(params["layers_0"]["fc1"]["kernel"])
    exact = np.asarray(floats["layers_0"]["fc1"]["kernel"])
    assert 0 < np.abs(kernel - exact).max() <= np.abs(exact).max() / 100  # quantized, close
    ours = _ours(out, fox_mel)
    _, theirs = _theirs(out, fox_mel, "float32")
    assert np.abs(ours - theirs).max() <= 2e-4
