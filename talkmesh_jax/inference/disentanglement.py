"""How MeshTalk splits the face between its inputs: swap the audio, or the expression input,
between two sequences and see which region of the reconstruction moves.

For pairs of windows (i, j) of a split, with reconstructions R(expression, audio) through the
argmax code: audio swap = |R(x_i, a_j) − R(x_i, a_i)|, expression swap = |R(x_j, a_i) −
R(x_i, a_i)|, each the mean vertex distance (cm) over the lips and over the upper face. A
disentangled model moves the lips far more than the upper face when the audio changes, and the
upper face far more than the lips when the expression input changes.

`code_usage`: on the same windows, how much of the categorical latent is in use
(`models/meshtalk/codes.py`): per-head perplexity, heads changing over time and the share of
codes the expression input moves, for the encoder's codes and for codes sampled from the audio.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.regions import region_vertices


def first_valid_window(valid: np.ndarray, frames: int) -> int | None:
    """The first start s with valid[s : s + frames] all true, or None."""
    run = 0
    for t, ok in enumerate(np.asarray(valid, bool)):
        run = run + 1 if ok else 0
        if run == frames:
            return t - frames + 1
    return None


def _windows(predictor, dataset, names: list[str], frames: int, limit: int):
    """The first all-valid window of each of up to `limit` clips (clips with gaps too): the
    model's inputs (audio [n, W·640], or the Whisper features export computes, [n, 2W, D]) and
    landmarks."""
    audio, motion = [], []
    for name in names:
        a, landmarks, valid = dataset.load_clip(name)
        start = first_valid_window(valid, frames)
        if start is None:
            continue
        if predictor.features is None:
            begin = start * SAMPLES_PER_FRAME
            audio.append(a[begin : begin + frames * SAMPLES_PER_FRAME])
        else:
            from talkmesh_jax.whisper.context import as_stored

            audio.append(as_stored(predictor.features.encode(a))[2 * start : 2 * (start + frames)])
        motion.append(landmarks[start : start + frames])
        if len(audio) == limit:
            break
    if not audio:
        return np.zeros((0,)), np.zeros((0,))
    return np.stack(audio), np.stack(motion)


def _window_inputs(predictor, dataset, names: list[str], limit: int):
    """(audio, motion [n, W, V·3] cm from the reference) of `_windows`, or None under two."""
    frames = predictor.window
    audio, landmarks = _windows(predictor, dataset, names, frames, limit)
    if len(audio) < 2:
        return None
    vertices = predictor.reference.shape[0]
    motion = (landmarks[:, :, :vertices] - predictor.reference).reshape(len(audio), frames, -1)
    return jnp.asarray(audio), jnp.asarray(motion)


def swap_effects(predictor, dataset, names: list[str], regions: dict, limit: int = 16) -> dict:
    """{"audio_swap": {"lips", "upper_face"} cm, "expression_swap": {…}, "windows": n, and the
    ratios "audio_swap_lips_over_upper", "expression_swap_upper_over_lips"}."""
    family, variables = predictor.family, predictor.variables
    frames, vertices = predictor.window, predictor.reference.shape[0]
    inputs = _window_inputs(predictor, dataset, names, limit)
    if inputs is None:
        return {}
    audio, motion = inputs
    rolled_audio, rolled_motion = jnp.roll(audio, 1, 0), jnp.roll(motion, 1, 0)
    own = family.reconstruct(variables, audio, motion)
    swaps = {
        "audio_swap": family.reconstruct(variables, rolled_audio, motion),
        "expression_swap": family.reconstruct(variables, audio, rolled_motion),
    }
    lips = region_vertices(regions["lips"])
    upper = region_vertices(regions["upper_face"])
    out = {"windows": len(audio)}
    for name, swapped in swaps.items():
        distance = np.linalg.norm(
            np.asarray(swapped - own).reshape(len(audio), frames, vertices, 3), axis=-1
        )
        out[name] = {
            "lips": float(distance[..., lips].mean()),
            "upper_face": float(distance[..., upper].mean()),
        }
    out["audio_swap_lips_over_upper"] = out["audio_swap"]["lips"] / max(
        out["audio_swap"]["upper_face"], 1e-9
    )
    out["expression_swap_upper_over_lips"] = out["expression_swap"]["upper_face"] / max(
        out["expression_swap"]["lips"], 1e-9
    )
    return out


def code_usage(predictor, dataset, names: list[str], seed: int = 0, limit: int = 16) -> dict:
    """{"encoder": usage, "sampled": usage, "windows": n} on up to `limit` all-valid windows
    (`codes.usage`); {} with fewer than two windows."""
    import jax

    from talkmesh_jax.models.meshtalk.codes import usage

    family, variables = predictor.family, predictor.variables
    inputs = _window_inputs(predictor, dataset, names, limit)
    if inputs is None:
        return {}
    audio, motion = inputs
    mask = np.ones(motion.shape[:2], np.float32)
    own, swapped, sampled = family.codes(variables, audio, motion, mask, jax.random.key(seed))
    valid = mask > 0
    classes = family.config.num_classes
    return {
        "windows": len(audio),
        "encoder": usage(np.asarray(own), np.asarray(swapped), valid, classes),
        "sampled": usage(np.asarray(sampled), None, valid, classes),
    }
