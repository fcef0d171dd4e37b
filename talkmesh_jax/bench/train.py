"""`talkmesh bench train`: training steps/s per mode and inference frames/s with and without the
key/value cache, same model, batch and machine (random weights and speech-like audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from talkmesh_jax import SAMPLE_RATE, SAMPLES_PER_FRAME
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import calls_per_second, machine_info
from talkmesh_jax.config import config_to_dict
from talkmesh_jax.models.faceformer import RECOMPUTE_GROUPS, RECOMPUTE_MIN_GROUP, FaceFormer
from talkmesh_jax.train.setup import build
from talkmesh_jax.train.step import make_train_step

MAX_ENCODER_SECONDS = 30  # Whisper's positional table; longer audio is encoded in pieces


@dataclass(frozen=True)
class TrainBenchConfig:
    inference_seconds: float = 60.0
    round_seconds: float = 1.0
    rounds: int = 3


def _batch(config: ml_collections.ConfigDict, num_landmarks: int) -> dict:
    batch, frames = int(config.data.batch_size), int(config.data.window_frames)
    rng = np.random.default_rng(0)
    return {
        "audio": jnp.asarray(speechlike(batch, frames * SAMPLES_PER_FRAME)),
        "landmarks": jnp.asarray(
            rng.normal(0, 0.1, (batch, frames, num_landmarks, 3)), jnp.float32
        ),
        "mask": jnp.ones((batch, frames), bool),
    }


def _encode_long(model: FaceFormer, variables, audio: jnp.ndarray) -> jnp.ndarray:
    piece = MAX_ENCODER_SECONDS * SAMPLE_RATE
    parts = [audio[:, i : i + piece] for i in range(0, audio.shape[1], piece)]
    return jnp.concatenate([model.apply(variables, p, method=FaceFormer.encode) for p in parts], 1)


def run_train_bench(
    config: ml_collections.ConfigDict, bench: TrainBenchConfig, progress: bool = True
) -> dict:
    setup = build(config, load_pretrained=False)
    model, state = setup.model, setup.state
    batch = _batch(config, setup.model_config.num_landmarks)
    reference = jnp.zeros((setup.model_config.num_landmarks, 3))
    timing = partial(calls_per_second, round_seconds=bench.round_seconds, rounds=bench.rounds)
    rates = {}
    for mode in ("teacher_forcing", "autoregressive", "original_procedure"):
        # the config's step (dropout, EMA, invalid-frame rule) in each mode
        step = jax.jit(partial(make_train_step(model, setup.tx, config), mode=mode))

        def run(step=step):
            jax.block_until_ready(step(state, batch, reference)[1]["loss"])

        if progress:
            print(f"timing {mode} training steps …", flush=True)
        rates[f"{mode}_steps_per_s"] = timing(run)

    frames = round(bench.inference_seconds * 25)
    audio = jnp.asarray(speechlike(1, frames * SAMPLES_PER_FRAME))
    variables = state.ema_params
    for name, method in (
        ("cached", FaceFormer.decode_cached),
        ("uncached", FaceFormer.decode_recompute),
    ):
        decode = jax.jit(lambda v, m, method=method: model.apply(v, m, frames, method=method))

        def infer(decode=decode):
            memory = _encode_long(model, variables, audio)
            jax.block_until_ready(decode(variables, memory))

        if progress:
            print(f"timing {name} inference on {bench.inference_seconds:g} s …", flush=True)
        rates[f"{name}_inference_fps"] = frames * calls_per_second(
            infer,
            round_seconds=bench.round_seconds,
            rounds=1 if name == "uncached" else bench.rounds,
        )
    batch_frames = int(config.data.batch_size) * int(config.data.window_frames)
    return {
        "benchmark": "train",
        "machine": machine_info(),
        "config": config_to_dict(config),
        "batch_frames": batch_frames,
        "inference_seconds": bench.inference_seconds,
        **rates,
        "teacher_forcing_frames_per_s": rates["teacher_forcing_steps_per_s"] * batch_frames,
        "teacher_forcing_vs_original": rates["teacher_forcing_steps_per_s"]
        / rates["original_procedure_steps_per_s"],
        "autoregressive_vs_original": rates["autoregressive_steps_per_s"]
        / rates["original_procedure_steps_per_s"],
        "cached_vs_uncached_inference": rates["cached_inference_fps"]
        / rates["uncached_inference_fps"],
        "window_frames": int(config.data.window_frames),
        "note": "original_procedure and uncached inference re-run the decoder over the prefix "
        "for every frame, as the original did; prefixes are padded to the end of groups of "
        f"max({RECOMPUTE_MIN_GROUP}, T/{RECOMPUTE_GROUPS}) frames (static shapes), a little more "
        "work than the original's exact prefix.",
    }


def format_table(results: dict) -> str:
    frames = results["batch_frames"]
    rows = [
        ("teacher forcing", results["teacher_forcing_steps_per_s"]),
        ("autoregressive (cached scan)", results["autoregressive_steps_per_s"]),
        ("original procedure (recompute prefix)", results["original_procedure_steps_per_s"]),
    ]
    windows = frames // results["window_frames"]
    lines = [f"training, batch {windows} x {results['window_frames']} frames: steps/s   frames/s"]
    lines += [f"  {name:<40} {rate:>8.2f} {rate * frames:>10.0f}" for name, rate in rows]
    lines.append(f"  teacher forcing / original: {results['teacher_forcing_vs_original']:.1f}x")
    seconds = results["inference_seconds"]
    lines.append(f"inference frames/s ({seconds:g} s of audio, one sequence):")
    lines.append(f"  {'with key/value cache':<40} {results['cached_inference_fps']:>8.0f}")
    lines.append(f"  {'without (recompute prefix)':<40} {results['uncached_inference_fps']:>8.0f}")
    lines.append(f"  cached / uncached: {results['cached_vs_uncached_inference']:.1f}x")
    return "\n".join(lines)
