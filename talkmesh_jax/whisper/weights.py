"""Loading Hugging Face Whisper checkpoints into the Flax encoder (no torch for safetensors).

Accepted: a directory with `config.json` and `model.safetensors` (or a sharded
`model.safetensors.index.json`, or `pytorch_model.bin` when torch is installed), a CTranslate2
(faster-whisper) directory with `model.bin` (`ctranslate2.py` maps it to the same names), or a
model id (`openai/whisper-small`, `Systran/faster-whisper-base`) already in the Hugging Face
cache. Names and layouts are mapped exactly: Linear `[out, in]` → kernel `[in, out]`, Conv1d
`[out, in, k]` → kernel `[k, in, out]`, LayerNorm weight → scale; `k_proj` has no bias. A
missing, extra or wrongly shaped tensor is an error that names it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax.traverse_util import flatten_dict, unflatten_dict

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import read_json
from talkmesh_jax.whisper.ctranslate2 import is_ctranslate2_dir, read_checkpoint
from talkmesh_jax.whisper.encoder import WhisperEncoder, WhisperEncoderConfig
from talkmesh_jax.whisper.hf_cache import require_snapshot

ENCODER_PREFIXES = ("model.encoder.", "encoder.")  # WhisperForConditionalGeneration, WhisperModel


def resolve_checkpoint(name_or_path: str | os.PathLike) -> Path:
    """The checkpoint directory: `bundled:tiny.en` (`bundled.py`), a local directory, or a
    model id found in the HF cache."""
    from talkmesh_jax.whisper.bundled import bundled_checkpoint, is_bundled

    if is_bundled(str(name_or_path)):
        return bundled_checkpoint(str(name_or_path))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise TalkmeshError(
            f"{path}: not a directory (expected config.json + model.safetensors, or a "
            "CTranslate2 model.bin)"
        )
    return require_snapshot(str(name_or_path))


def read_tensors(directory: Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint as numpy arrays (float32), under Hugging Face names."""
    from safetensors.numpy import load_file

    if is_ctranslate2_dir(directory):
        return read_checkpoint(directory)[1]
    single, index = directory / "model.safetensors", directory / "model.safetensors.index.json"
    if single.is_file():
        files = [single]
    elif index.is_file():
        files = sorted(
            {directory / f for f in json.loads(index.read_text())["weight_map"].values()}
        )
    elif (directory / "pytorch_model.bin").is_file():
        return _read_torch_bin(directory / "pytorch_model.bin")
    else:
        raise TalkmeshError(
            f"{directory}: no model.safetensors, model.safetensors.index.json, "
            "pytorch_model.bin or CTranslate2 model.bin"
        )
    tensors = {}
    for file in files:
        try:
            tensors.update(load_file(str(file)))
        except Exception as err:  # noqa: BLE001 - safetensors raises several types
            raise TalkmeshError(f"{file}: cannot be read ({err})") from None
    return {k: np.asarray(v, np.float32) for k, v in tensors.items()}


def _read_torch_bin(file: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise TalkmeshError(
            f"{file}: reading pytorch_model.bin needs torch; install it or convert the checkpoint "
            "to model.safetensors"
        ) from None
    state = torch.load(file, map_location="cpu", weights_only=True)
    return {k: v.float().numpy() for k, v in state.items()}


def _hf_name(path: tuple[str, ...]) -> str:
    """Flax parameter path → Hugging Face tensor name (without the encoder prefix)."""
    parts = []
    for part in path:
        if part.startswith("layers_"):
            parts += ["layers", part.removeprefix("layers_")]
        elif part in ("kernel", "scale"):
            parts.append("weight")
        elif part == "embed_positions":
            parts += [part, "weight"]
        else:
            parts.append(part)
    return ".".join(parts)


def _to_flax(path: tuple[str, ...], tensor: np.ndarray) -> np.ndarray:
    if path[-1] != "kernel":
        return tensor
    return tensor.transpose(2, 1, 0) if tensor.ndim == 3 else tensor.T


def encoder_params_from_tensors(
    tensors: dict[str, np.ndarray], config: WhisperEncoderConfig, source: str = "checkpoint"
) -> dict:
    """The Flax parameter tree of `WhisperEncoder(config)` from HF tensors; checks everything."""
    prefix = next((p for p in ENCODER_PREFIXES if any(k.startswith(p) for k in tensors)), None)
    if prefix is None:
        raise TalkmeshError(f"{source}: no encoder tensors (names starting with 'encoder.')")
    expected = jax.eval_shape(
        WhisperEncoder(config).init, jax.random.key(0), jnp.zeros((1, 2, config.num_mel_bins))
    )["params"]
    params, used = {}, set()
    for path, spec in flatten_dict(expected).items():
        name = prefix + _hf_name(path)
        if name not in tensors:
            raise TalkmeshError(f"{source}: missing tensor {name}")
        value = _to_flax(path, tensors[name])
        if value.shape != spec.shape:
            raise TalkmeshError(
                f"{source}: tensor {name} has shape {tensors[name].shape}, expected "
                f"{_hf_shape(path, spec.shape)}"
            )
        params[path] = jnp.asarray(value)
        used.add(name)
    extra = sorted(k for k in tensors if k.startswith(prefix) and k not in used)
    if extra:
        raise TalkmeshError(f"{source}: unexpected encoder tensor {extra[0]} ({len(extra)} in all)")
    return unflatten_dict(params)


def _hf_shape(path: tuple[str, ...], flax_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The HF layout of a Flax shape (inverse of `_to_flax`)."""
    if path[-1] != "kernel":
        return tuple(flax_shape)
    return tuple(reversed(flax_shape))


def load_whisper_encoder(name_or_path: str | os.PathLike) -> tuple[WhisperEncoderConfig, dict]:
    """(config, params) of a Whisper checkpoint's encoder; params fit `WhisperEncoder(config)`."""
    directory = resolve_checkpoint(name_or_path)
    config = load_whisper_config(directory)
    params = encoder_params_from_tensors(read_tensors(directory), config, str(directory))
    return config, params


def load_whisper_config(name_or_path: str | os.PathLike) -> WhisperEncoderConfig:
    """The encoder config of a Whisper checkpoint (its config.json only, or a scan of a
    CTranslate2 model.bin's shapes; no weights read)."""
    directory = resolve_checkpoint(name_or_path)
    if is_ctranslate2_dir(directory):
        sizes = read_checkpoint(directory, load=False)[0]
        return WhisperEncoderConfig.from_hf(sizes, str(directory / "model.bin"))
    config_file = directory / "config.json"
    return WhisperEncoderConfig.from_hf(read_json(config_file), str(config_file))
