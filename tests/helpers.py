"""Test helpers: small datasets with the awkward cases real data has."""

from __future__ import annotations

import numpy as np

from talkmesh_jax.bench.encoder_baselines import TORCH_MISSING
from talkmesh_jax.data.packed import PackedClips, concatenate_clips


def random_clips(
    rng: np.random.Generator,
    num_clips: int | None = None,
    num_vertices: int | None = None,
    max_frames: int = 80,
    invalid_rate: float | None = None,
) -> PackedClips:
    """Clips of 0..max_frames frames; audio up to ±2 frames shorter or longer than the frames."""
    num_clips = num_clips or int(rng.integers(1, 7))
    num_vertices = num_vertices or int(rng.integers(1, 6))
    invalid_rate = rng.uniform(0, 0.6) if invalid_rate is None else invalid_rate
    lengths = [int(rng.integers(0, max_frames + 1)) for _ in range(num_clips)]
    lengths[int(rng.integers(num_clips))] = max_frames  # at least one long clip
    audios = [
        rng.standard_normal(max(0, n * 640 + int(rng.integers(-1300, 1300)))).astype(np.float32)
        for n in lengths
    ]
    landmarks = [rng.standard_normal((n, num_vertices, 3)).astype(np.float32) for n in lengths]
    valids = [rng.random(n) >= invalid_rate for n in lengths]
    return concatenate_clips(audios, landmarks, valids)


def labelled_clips(
    lengths: list[int], audio_extra: list[int], num_vertices: int = 2
) -> PackedClips:
    """Clips whose values say where they come from: 1000 * (clip + 1) + frame (or sample)."""
    audios = [
        (1000.0 * (c + 1) + np.arange(n * 640 + extra) / 640.0).astype(np.float32)
        for c, (n, extra) in enumerate(zip(lengths, audio_extra, strict=True))
    ]
    landmarks = [
        np.broadcast_to(
            (1000.0 * (c + 1) + np.arange(n, dtype=np.float32))[:, None, None], (n, num_vertices, 3)
        ).astype(np.float32)
        for c, n in enumerate(lengths)
    ]
    return concatenate_clips(audios, landmarks, [np.ones(n, bool) for n in lengths])


def save_random_whisper(directory, config, seed: int = 0) -> dict:
    """A random Hugging Face Whisper checkpoint of `config`'s encoder in `directory`, written with
    numpy alone (config.json + model.safetensors under `WhisperModel`'s names, PyTorch's layouts;
    weights normal with std 0.02 as transformers initialises them, biases 0, layer norms 1 and 0,
    sinusoidal positions). Returns the HF-named tensors."""
    import json
    from pathlib import Path

    import jax
    import jax.numpy as jnp
    from safetensors.numpy import save_file

    from talkmesh_jax.whisper.encoder import WhisperEncoder, sinusoids
    from talkmesh_jax.whisper.weights import _hf_name

    shapes = jax.eval_shape(
        WhisperEncoder(config).init, jax.random.key(0), jnp.zeros((1, 2, config.num_mel_bins))
    )["params"]
    rng = np.random.default_rng(seed)
    tensors = {}
    for path, spec in jax.tree_util.tree_flatten_with_path(shapes)[0]:
        keys = tuple(k.key for k in path)
        shape = tuple(reversed(spec.shape)) if keys[-1] == "kernel" else spec.shape
        if keys[-1] == "kernel":
            value = 0.02 * rng.standard_normal(shape)
        elif keys[-2:] == ("embed_positions", "embedding") or keys[-1] == "embed_positions":
            value = sinusoids(*spec.shape)
        elif keys[-1] == "scale":
            value = np.ones(shape)
        else:
            value = np.zeros(shape)
        tensors["encoder." + _hf_name(keys)] = np.asarray(value, np.float32)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    hf = {"model_type": "whisper", "activation_function": "gelu", **config.as_dict()}
    (directory / "config.json").write_text(json.dumps(hf))
    return tensors


# Why a test of the torch-reference extra skips (pytest.importorskip's one-line reason): the
# reason `bench encoder` gives for skipping its torch rows.
NO_TORCH = TORCH_MISSING
