"""Reading CTranslate2 (faster-whisper) Whisper checkpoints as Hugging Face tensors and config.

A CTranslate2 directory holds `model.bin` (binary version 6, spec `WhisperSpec`), `config.json`
(suppressed tokens, alignment heads, language ids) and `tokenizer.json`. `model.bin` is:
uint32 version; spec name; uint32 revision; uint32 variable count; per variable: name, uint8 rank,
uint32 dims, uint8 dtype, uint32 byte count, raw little-endian bytes; then uint32 alias count and
(alias, target) name pairs. A string is a uint16 length and that many bytes ending in NUL.

The mapping to Hugging Face names is exact: fused q,k,v `[3d, d]` → q/k/v_proj (the k bias is
dropped: Hugging Face's k_proj has none, and a key bias adds the same q·b to every score of a
query, which softmax ignores), cross-attention `linear_1` fused k,v `[2d, d]`; Linear and Conv1d
weights keep PyTorch's `[out, in(, k)]` layout. Scalar variables (`num_heads`, `pre_norm`, …) are
metadata, not weights.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import read_json

BINARY_VERSION = 6
SPEC_NAME = "WhisperSpec"
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: np.uint16}
BFLOAT16 = 5


def is_ctranslate2_dir(directory: Path) -> bool:
    """True for a directory holding CTranslate2's `model.bin` (and no Hugging Face weights)."""
    return (directory / "model.bin").is_file() and not (directory / "model.safetensors").exists()


class _Reader:
    def __init__(self, file: Path):
        self.file = file
        self.handle = file.open("rb")

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        data = self.handle.read(size)
        if len(data) != size:
            raise TalkmeshError(f"{self.file}: truncated CTranslate2 model.bin")
        return struct.unpack("<" + fmt, data)

    def string(self) -> str:
        (length,) = self.take("H")
        data = self.handle.read(length)
        if len(data) != length:
            raise TalkmeshError(f"{self.file}: truncated CTranslate2 model.bin")
        return data.rstrip(b"\0").decode("utf-8")


def _as_float32(raw: bytes, dtype: int, dims: tuple[int, ...]) -> np.ndarray:
    if dtype == BFLOAT16:
        bits = np.frombuffer(raw, np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32).reshape(dims)
    return np.frombuffer(raw, DTYPES[dtype]).reshape(dims).astype(np.float32)


def read_model_bin(file: Path, load: bool = True) -> dict[str, np.ndarray | tuple[int, ...]]:
    """Every variable of a CTranslate2 Whisper `model.bin`: arrays as float32 (weights) or their
    shapes only with `load=False` (a quick scan that seeks past the data). Scalars (metadata) are
    returned as 0-d arrays; aliases resolve to their target. Quantized weights (int8, int16:
    CTranslate2's `--quantization int8…`, common in faster-whisper caches) come back dequantized,
    q / scale with their `<name>_scale` (one per output row for int8, one per tensor for int16),
    as CTranslate2 itself does when it runs them in float."""
    reader = _Reader(file)
    with reader.handle:
        (version,) = reader.take("I")
        if version != BINARY_VERSION:
            raise TalkmeshError(
                f"{file}: CTranslate2 binary version {version}, expected {BINARY_VERSION}"
            )
        spec = reader.string()
        if spec != SPEC_NAME:
            raise TalkmeshError(f"{file}: a {spec or 'unnamed'} model, not a Whisper one")
        reader.take("I")  # spec revision
        (count,) = reader.take("I")
        variables: dict[str, np.ndarray | tuple[int, ...]] = {}
        quantized: list[str] = []  # int8/int16 weights, divided by their scales at the end
        for _ in range(count):
            name = reader.string()
            (rank,) = reader.take("B")
            dims = reader.take("I" * rank) if rank else ()
            dtype, nbytes = reader.take("BI")
            if dtype not in DTYPES:
                raise TalkmeshError(f"{file}: variable {name} has unknown dtype code {dtype}")
            if rank == 0:
                variables[name] = np.frombuffer(reader.handle.read(nbytes), DTYPES[dtype])[0]
                continue
            if dtype in (1, 2):
                quantized.append(name)
            if load:
                variables[name] = _as_float32(reader.handle.read(nbytes), dtype, dims)
            else:
                reader.handle.seek(nbytes, 1)
                variables[name] = tuple(dims)
        (aliases,) = reader.take("I")
        for _ in range(aliases):
            alias, target = reader.string(), reader.string()
            variables[alias] = variables[target]
    return _dequantized(variables, quantized, file)


def _dequantized(variables: dict, quantized: list[str], file: Path) -> dict:
    """`variables` with each quantized weight divided by its scale (broadcast over the output
    rows) and the scales dropped; a quantized weight without its scale is an error."""
    for name in quantized:
        scale = variables.pop(f"{name}_scale", None)
        if scale is None:
            raise TalkmeshError(f"{file}: {name} is quantized but has no {name}_scale")
        value = variables[name]
        if isinstance(value, tuple):
            continue  # load=False: the shape is all that is wanted
        scale = np.asarray(scale, np.float32)
        scale = scale.reshape(scale.shape + (1,) * (value.ndim - scale.ndim))
        variables[name] = value / scale
    for alias in [n for n in variables if n.endswith("_scale")]:
        variables.pop(alias)  # aliases of scales (shared weights)
    return variables


def _shape(value) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else tuple(np.shape(value))


def _layers(variables: dict, side: str) -> int:
    pattern = re.compile(rf"{side}/layer_(\d+)/")
    return len({m.group(1) for name in variables if (m := pattern.match(name))})


def architecture(variables: dict) -> dict:
    """The sizes of a CTranslate2 Whisper (Hugging Face `WhisperConfig` field names), from the
    variables' shapes alone."""
    d_model, mel_bins, _ = _shape(variables["encoder/conv1/weight"])
    return {
        "model_type": "whisper",
        "vocab_size": _shape(variables["decoder/embeddings/weight"])[0],
        "num_mel_bins": mel_bins,
        "d_model": d_model,
        "encoder_layers": _layers(variables, "encoder"),
        "encoder_attention_heads": int(variables["encoder/num_heads"]),
        "encoder_ffn_dim": _shape(variables["encoder/layer_0/ffn/linear_0/weight"])[0],
        "decoder_layers": _layers(variables, "decoder"),
        "decoder_attention_heads": int(variables["decoder/num_heads"]),
        "decoder_ffn_dim": _shape(variables["decoder/layer_0/ffn/linear_0/weight"])[0],
        "max_source_positions": _shape(variables["encoder/position_encodings/encodings"])[0],
        "max_target_positions": _shape(variables["decoder/position_encodings/encodings"])[0],
    }


@dataclass(frozen=True)
class Metadata:
    """What a CTranslate2 directory says besides the weights: tokenizer.json's special tokens
    {token: id}, and its config.json (suppressed ids, alignment heads, language ids)."""

    tokens: dict[str, int]
    options: dict


def read_metadata(directory: Path) -> Metadata:
    tokenizer = read_json(directory / "tokenizer.json")
    tokens = {t["content"]: int(t["id"]) for t in tokenizer.get("added_tokens", [])}
    file = directory / "config.json"
    return Metadata(tokens, read_json(file) if file.is_file() else {})


def hf_config(variables: dict, metadata: Metadata) -> dict:
    """The Hugging Face `WhisperConfig` dict of a CTranslate2 checkpoint: sizes from the
    variables' shapes, token ids from tokenizer.json."""
    sizes = architecture(variables)
    tokens = metadata.tokens
    end = tokens["<|endoftext|>"]
    return {
        "architectures": ["WhisperForConditionalGeneration"],
        **sizes,
        "activation_function": "gelu",
        "scale_embedding": bool(variables.get("decoder/scale_embeddings", False)),
        "tie_word_embeddings": True,
        "bos_token_id": end,
        "eos_token_id": end,
        "pad_token_id": end,
        "decoder_start_token_id": tokens["<|startoftranscript|>"],
        "is_multilingual": sizes["vocab_size"] >= 51865,  # OpenAI's rule: .en ones have 51864
    }


def generation_config(config: dict, metadata: Metadata) -> dict:
    """Hugging Face's generation_config.json for Whisper (what `generate` needs: the special
    tokens, languages and tasks, the no-timestamps token, the suppressed tokens)."""
    tokens, options = metadata.tokens, metadata.options
    result = {
        "bos_token_id": config["bos_token_id"],
        "eos_token_id": config["eos_token_id"],
        "pad_token_id": config["pad_token_id"],
        "decoder_start_token_id": config["decoder_start_token_id"],
        "suppress_tokens": list(options.get("suppress_ids", [])),
        "begin_suppress_tokens": list(
            options.get("suppress_ids_begin", [220, config["eos_token_id"]])
        ),
        "max_length": config["max_target_positions"],
        "no_timestamps_token_id": tokens["<|notimestamps|>"],
        "prev_sot_token_id": tokens["<|startofprev|>"],
        "max_initial_timestamp_index": 50,
        "return_timestamps": False,
        "is_multilingual": config["is_multilingual"],
        "alignment_heads": [list(pair) for pair in options.get("alignment_heads", [])],
    }
    if config["is_multilingual"]:
        ids = set(options.get("lang_ids", []))
        result["lang_to_id"] = {name: i for name, i in tokens.items() if i in ids}
        result["task_to_id"] = {
            "transcribe": tokens["<|transcribe|>"],
            "translate": tokens["<|translate|>"],
        }
    return result


ATTENTION = {"linear_1": "out_proj"}
CROSS_ATTENTION = {"linear_0": "q_proj", "linear_2": "out_proj"}
NORMS = {"self_attention": "self_attn_layer_norm", "attention": "encoder_attn_layer_norm"}
FFN = {"linear_0": "fc1", "linear_1": "fc2", "layer_norm": "final_layer_norm"}
PARAMS = {"gamma": "weight", "beta": "bias", "weight": "weight", "bias": "bias"}


def _split(name: str, value: np.ndarray, parts: list[str]) -> dict[str, np.ndarray]:
    """A fused projection (weight [n·d, d] or bias [n·d]) → one tensor per part."""
    leaf = name.rsplit("/", 1)[1]
    out = {}
    for part, chunk in zip(parts, np.split(value, len(parts)), strict=True):
        if leaf == "bias" and part == "k_proj":
            continue  # Hugging Face's k_proj has no bias; softmax ignores it (see module doc)
        out[f"{part}.{PARAMS[leaf]}"] = chunk
    return out


def _layer_tensors(rest: list[str], name: str, value: np.ndarray) -> dict[str, np.ndarray]:
    """One variable of a layer (`rest` = its path after layer_N) → HF names within the layer."""
    block, leaf = rest[0], rest[-1]
    if rest[-2] == "layer_norm":
        norm = FFN["layer_norm"] if block == "ffn" else NORMS[block]
        return {f"{norm}.{PARAMS[leaf]}": value}
    if block == "ffn":
        return {f"{FFN[rest[1]]}.{PARAMS[leaf]}": value}
    prefix = "self_attn" if block == "self_attention" else "encoder_attn"
    linear = rest[1]
    if block == "self_attention" and linear == "linear_0":
        parts = _split(name, value, ["q_proj", "k_proj", "v_proj"])
    elif block == "attention" and linear == "linear_1":
        parts = _split(name, value, ["k_proj", "v_proj"])
    else:
        table = ATTENTION if block == "self_attention" else CROSS_ATTENTION
        parts = {f"{table[linear]}.{PARAMS[leaf]}": value}
    return {f"{prefix}.{key}": tensor for key, tensor in parts.items()}


def hf_tensors(variables: dict, source: str = "model.bin") -> dict[str, np.ndarray]:
    """The weights under `WhisperForConditionalGeneration`'s names (float32; proj_out is tied
    to the token embeddings and not listed). An unknown variable is an error naming it."""
    tensors = {}
    for name, value in variables.items():
        if np.ndim(value) == 0 or name == "decoder/projection/weight":
            continue
        path = name.split("/")
        side = path[0]
        if side not in ("encoder", "decoder"):
            raise TalkmeshError(f"{source}: unexpected variable {name}")
        base = f"model.{side}."
        if re.fullmatch(r"layer_\d+", path[1]):
            index = path[1].removeprefix("layer_")
            for key, tensor in _layer_tensors(path[2:], name, value).items():
                tensors[f"{base}layers.{index}.{key}"] = tensor
        elif path[1] in ("conv1", "conv2"):
            tensors[f"{base}{path[1]}.{path[2]}"] = value
        elif path[1] == "position_encodings":
            tensors[f"{base}embed_positions.weight"] = value
        elif path[1] == "embeddings":
            tensors[f"{base}embed_tokens.weight"] = value
        elif path[1] == "layer_norm":
            tensors[f"{base}layer_norm.{PARAMS[path[2]]}"] = value
        else:
            raise TalkmeshError(f"{source}: unexpected variable {name}")
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}


def read_checkpoint(directory: Path, load: bool = True) -> tuple[dict, dict]:
    """(sizes as Hugging Face config fields, HF-named float32 tensors — empty with
    `load=False`, which only scans the file)."""
    file = directory / "model.bin"
    variables = read_model_bin(file, load=load)
    try:
        config = architecture(variables)
    except KeyError as err:
        raise TalkmeshError(f"{file}: not a Whisper model (no {err.args[0]})") from None
    return config, hf_tensors(variables, str(file)) if load else {}
