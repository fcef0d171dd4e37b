"""Whisper checkpoints written by CTranslate2 itself (its `WhisperSpec`, saved and optionally
quantized by its own code), from variables under CTranslate2's names.

`bench encoder` makes random weights of a real size here, so CTranslate2, our encoder (which reads
the directory, `whisper/ctranslate2.py`) and transformers (through `talkmesh whisper convert`)
all compute with the same numbers; the tests quantize the real tiny.en to int8 with it. Needs the
`ctranslate2` package (the `test` extra); nothing at run time imports this module.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import PendingPath, read_json
from talkmesh_jax.whisper.ctranslate2 import architecture
from talkmesh_jax.whisper.encoder import WhisperEncoderConfig, sinusoids

QUANTIZATIONS = (None, "int8", "int8_float32", "int16", "float16")


def import_ctranslate2():
    """The `ctranslate2` module, or a one-line error saying how to install it."""
    try:
        import ctranslate2
    except ImportError:
        raise TalkmeshError(
            "this needs CTranslate2: pip install ctranslate2 (in the project's test extra)"
        ) from None
    return ctranslate2


def _set(spec, name: str, value: np.ndarray) -> None:
    """spec's variable `name` ("encoder/layer_0/ffn/linear_1/weight": `layer_N` and `linear_N`
    index the spec's lists) = value."""
    node = spec
    *path, leaf = name.split("/")
    for part in path:
        match = re.fullmatch(r"(.+)_(\d+)", part)
        if match and isinstance(getattr(node, match.group(1), None), list):
            node = getattr(node, match.group(1))[int(match.group(2))]
        else:
            node = getattr(node, part)
    setattr(node, leaf, value)


def write_ctranslate2(
    variables: dict[str, np.ndarray],
    out: str | Path,
    metadata_from: str | Path,
    quantization: str | None = None,
) -> Path:
    """Saves `variables` (CTranslate2 names → float32 arrays; 0-d metadata ignored: the spec sets
    its own) as a CTranslate2 Whisper directory `out` (new), quantized as asked (None: float32),
    with the vocabulary, tokenizer.json and generation options of the CTranslate2 directory
    `metadata_from` (the vocabulary must have as many tokens as the embeddings have rows)."""
    import_ctranslate2()
    from ctranslate2.specs import WhisperSpec

    if quantization not in QUANTIZATIONS:
        raise TalkmeshError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    source = Path(metadata_from)
    sizes = architecture(variables)
    spec = WhisperSpec(
        sizes["encoder_layers"],
        sizes["encoder_attention_heads"],
        sizes["decoder_layers"],
        sizes["decoder_attention_heads"],
    )
    for name, value in variables.items():
        if np.ndim(value) > 0:
            _set(spec, name, np.ascontiguousarray(value, np.float32))
    options = read_json(source / "config.json") if (source / "config.json").is_file() else {}
    for key in ("suppress_ids", "suppress_ids_begin", "lang_ids", "alignment_heads"):
        if key in options:
            setattr(spec.config, key, options[key])
    spec.register_vocabulary((source / "vocabulary.txt").read_text().splitlines())
    spec.validate()
    spec.optimize(quantization=quantization)
    pending = PendingPath(Path(out), folder=True)
    try:
        spec.save(str(pending.tmp))
        shutil.copyfile(source / "tokenizer.json", pending.tmp / "tokenizer.json")
        return pending.commit()
    finally:
        pending.discard()


def random_variables(
    whisper: WhisperEncoderConfig, vocab_size: int, decoder_layers: int = 1, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random weights (normal, std 0.02; layer norms 1 and 0; sinusoidal encoder positions) of a
    Whisper with this encoder and a `decoder_layers`-layer decoder of the same width, under
    CTranslate2's names: what `bench encoder` times on every engine."""
    rng = np.random.default_rng(seed)
    d, f, bins = whisper.d_model, whisper.encoder_ffn_dim, whisper.num_mel_bins

    def normal(*shape: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(shape)).astype(np.float32)

    def norm(prefix: str) -> dict[str, np.ndarray]:
        ones, zeros = np.ones(d, np.float32), np.zeros(d, np.float32)
        return {f"{prefix}/gamma": ones, f"{prefix}/beta": zeros}

    def linear(prefix: str, rows: int, cols: int) -> dict[str, np.ndarray]:
        return {f"{prefix}/weight": normal(rows, cols), f"{prefix}/bias": normal(rows)}

    def layer(prefix: str, cross: bool) -> dict[str, np.ndarray]:
        out = {**norm(f"{prefix}/self_attention/layer_norm")}
        out |= linear(f"{prefix}/self_attention/linear_0", 3 * d, d)
        out |= linear(f"{prefix}/self_attention/linear_1", d, d)
        if cross:
            out |= norm(f"{prefix}/attention/layer_norm")
            out |= linear(f"{prefix}/attention/linear_0", d, d)
            out |= linear(f"{prefix}/attention/linear_1", 2 * d, d)
            out |= linear(f"{prefix}/attention/linear_2", d, d)
        out |= norm(f"{prefix}/ffn/layer_norm")
        out |= linear(f"{prefix}/ffn/linear_0", f, d) | linear(f"{prefix}/ffn/linear_1", d, f)
        return out

    variables = {
        "encoder/conv1/weight": normal(d, bins, 3),
        "encoder/conv1/bias": normal(d),
        "encoder/conv2/weight": normal(d, d, 3),
        "encoder/conv2/bias": normal(d),
        "encoder/position_encodings/encodings": sinusoids(whisper.max_source_positions, d),
        **norm("encoder/layer_norm"),
        "decoder/embeddings/weight": normal(vocab_size, d),
        "decoder/position_encodings/encodings": normal(448, d),
        **norm("decoder/layer_norm"),
    }
    for i in range(whisper.encoder_layers):
        variables |= layer(f"encoder/layer_{i}", cross=False)
    for i in range(decoder_layers):
        variables |= layer(f"decoder/layer_{i}", cross=True)
    variables["decoder/projection/weight"] = variables["decoder/embeddings/weight"]
    variables["encoder/num_heads"] = np.int16(whisper.encoder_attention_heads)
    variables["decoder/num_heads"] = np.int16(whisper.encoder_attention_heads)
    return variables
