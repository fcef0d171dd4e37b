"""CTranslate2 (faster-whisper) checkpoints: the reader (float and quantized files) and
`talkmesh whisper convert`'s refusals. Against CTranslate2 itself: `test_ctranslate2_reference.py`;
against transformers (PyTorch): `test_ctranslate2_vs_transformers.py`."""

from __future__ import annotations

import shutil
import struct

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.cli import main
from talkmesh_jax.whisper.ctranslate2 import read_model_bin
from talkmesh_jax.whisper.weights import load_whisper_config, load_whisper_encoder


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
        (
            {"w": (1, np.ones((2, 2), np.int8))},
            "WhisperSpec",
            6,
            "w is quantized but has no w_scale",
        ),
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
