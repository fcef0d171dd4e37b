"""`talkmesh bench train`: training steps/s per mode and inference frames/s with and without the
key/value cache, same model, batch and machine (random weights and speech-like audio).

The shipped code paths are timed: the training step runs through `DataParallel` (the config's
pmap or jit) with the state kept on the device and its buffers donated, as `talkmesh train` does;
inference runs through the `Predictor` that `talkmesh export` uses (windows of the training
length, cross-faded), once with the key/value cache and once recomputing the prefix for every
frame (the original's way). Every rate is the median of timed rounds after a warm-up call
(compilation excluded) and a call that sizes the rounds; the rounds' spread is reported. XLA's
compile-time estimate of each step's temporary memory is reported, for autoregressive training
also without rematerialisation (`train.remat_frames=0`).

Anchor: where torch is installed, a PyTorch re-enactment of the original project's full training
step (`bench/original_torch.py`: Whisper-small on 30 s of padding, the per-frame recomputed
decoder, backward, Adam; batch 8 × 125 frames), timed once after a warm-up step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import machine_info, measure_rate
from talkmesh_jax.config import config_to_dict
from talkmesh_jax.inference.predictor import Predictor
from talkmesh_jax.models.faceformer.family import MODES
from talkmesh_jax.models.faceformer.model import RECOMPUTE_GROUPS, RECOMPUTE_MIN_GROUP
from talkmesh_jax.train.parallel import DataParallel
from talkmesh_jax.train.setup import build
from talkmesh_jax.train.step import make_train_step


@dataclass(frozen=True)
class TrainBenchConfig:
    inference_seconds: float = 60.0
    round_seconds: float = 1.0
    rounds: int = 3
    anchor: bool = True  # time the PyTorch re-enactment of the original step (needs torch)


def _batch(config: ml_collections.ConfigDict, family) -> dict:
    """A host batch of the config's shape: speech-like audio (or, when the family takes Whisper
    features, features [B, 2W, d_model] as the feature cache gives them), landmarks,
    blendshapes, mask."""
    batch, frames = int(config.data.batch_size), int(config.data.window_frames)
    rng = np.random.default_rng(0)
    landmarks = rng.normal(0, 0.1, (batch, frames, int(config.model.num_landmarks), 3))
    encoder, layout = family.audio_encoder_config, family.layout
    if encoder is not None and encoder.inputs_are_features:
        width = encoder.architecture["d_model"]
        audio = rng.normal(0, 1, (batch, 2 * frames, width)).astype(np.float32)
    else:
        audio = speechlike(batch, frames * SAMPLES_PER_FRAME)
    out = {
        "audio": audio,
        "landmarks": landmarks.astype(np.float32),
        "mask": np.ones((batch, frames), bool),
    }
    if layout.num_blendshapes:
        out["blendshapes"] = rng.random((batch, frames, layout.num_blendshapes), np.float32)
    return out


def _temp_bytes(step, state, batch, reference) -> int:
    """XLA's compile-time temporary memory of one step on one device (bytes)."""
    device_batch = {k: jnp.asarray(v) for k, v in batch.items()}
    compiled = jax.jit(partial(step, axis_name=None)).lower(state, device_batch, reference)
    return int(compiled.compile().memory_analysis().temp_size_in_bytes)


def _step_rate(step, config, setup, reference, bench: TrainBenchConfig, batch=None, batcher=None):
    """`measure_rate` of the training `step` through `DataParallel` (the config's pmap or jit),
    the state kept on the device and donated, as `talkmesh train` runs it: on one host `batch`
    put on the device once (the step alone), or with every step's batch from `batcher` (its
    assembly and transfer timed too; at least 5 rounds)."""
    runner = DataParallel(step, config.train.parallel)
    state, rounds = [runner.put_state(setup.state)], bench.rounds
    if batcher is None:
        device_batch = runner.put_batch(batch)
        next_batch = lambda: device_batch  # noqa: E731
    else:
        order, rounds = itertools.cycle(range(batcher.num_batches(0))), max(5, bench.rounds)
        next_batch = lambda: runner.put_batch(batcher.get_batch(0, next(order)))  # noqa: E731

    def run():
        state[0], metrics = runner.step(state[0], next_batch(), reference)  # donated
        jax.block_until_ready(metrics["loss"])

    return measure_rate(run, round_seconds=bench.round_seconds, rounds=rounds)


def _train_rates(config, setup, batch, reference, bench: TrainBenchConfig, progress: bool):
    rates, spreads, memory = {}, {}, {}
    for mode in MODES:
        step = make_train_step(setup.family.with_mode(mode), setup.tx, config)
        if progress:
            print(f"timing {mode} training steps …", flush=True)
        measured = _step_rate(step, config, setup, reference, bench, batch=batch)
        rates[f"{mode}_steps_per_s"], spreads[mode] = measured["median"], measured
        memory[mode] = _temp_bytes(step, setup.state, batch, reference)
    plain = make_train_step(setup.family.with_mode("autoregressive", 0), setup.tx, config)
    memory["autoregressive_without_remat"] = _temp_bytes(plain, setup.state, batch, reference)
    return rates, spreads, memory


def _inference_rates(config, setup, bench: TrainBenchConfig, progress: bool):
    frames = round(bench.inference_seconds * 25)
    audio = speechlike(1, frames * SAMPLES_PER_FRAME)[0]
    reference = np.zeros((int(config.model.num_landmarks), 3), np.float32)
    rates, spreads = {}, {}
    decoders = (("cached", None), ("uncached", setup.family.generate_recompute))
    for name, generate in decoders:
        predictor = Predictor(
            setup.family,
            setup.state.ema_params,
            reference,
            int(config.data.window_frames),
            int(config.eval.batch_size),
            generate=generate,
        )
        if progress:
            print(f"timing {name} inference on {bench.inference_seconds:g} s …", flush=True)
        rounds = 1 if name == "uncached" else bench.rounds
        measured = measure_rate(
            lambda predictor=predictor: predictor.predict_all(audio),
            round_seconds=bench.round_seconds,
            rounds=rounds,
        )
        rates[f"{name}_inference_fps"] = frames * measured["median"]
        spreads[f"{name}_inference"] = {k: v * frames for k, v in measured.items()}
    return rates, spreads


def _anchor(progress: bool) -> dict | None:
    from talkmesh_jax.bench.encoder_baselines import torch_missing

    if torch_missing():  # the torch-reference extra
        return None
    from talkmesh_jax.bench.original_torch import original_step_seconds

    if progress:
        print("timing the PyTorch re-enactment of the original step (about a minute) …")
    return original_step_seconds()


def _bench_clips(config, clips: int = 8, seconds: float = 10.0):
    """Packed speech-like clips with random landmarks, enough for two batches of the config."""
    from talkmesh_jax.data.packed import concatenate_clips

    frames = round(seconds * 25)
    rng = np.random.default_rng(0)
    audio = list(speechlike(clips, frames * SAMPLES_PER_FRAME))
    vertices = int(config.model.num_landmarks)
    landmarks = [rng.normal(0, 0.1, (frames, vertices, 3)).astype(np.float32)] * clips
    return concatenate_clips(audio, landmarks, [np.ones(frames, bool)] * clips)


def feature_cache_rates(config, bench: TrainBenchConfig, progress: bool) -> dict | None:
    """For a frozen Whisper: teacher-forcing steps/s with the encoder run every step on each
    window (context 'window') and from cached features (context 'chunked'), same model, batch and
    data, each step timed with its batch (batcher, gather, transfer); the median of rounds, with
    their spread. And what building the cache costs (seconds of encoding per minute of audio,
    30 s chunks with the config's margin)."""
    encoder = config.model.audio_encoder
    if encoder.kind != "whisper" or not encoder.frozen:
        return None
    from talkmesh_jax.data.windows import WindowSpec, create_batcher
    from talkmesh_jax.whisper.context import STORED_DTYPE, ChunkedWhisper

    clips = _bench_clips(config)
    window = int(config.data.window_frames)
    spec = WindowSpec(window, window, int(config.data.batch_size), shuffle=True)
    rates = {}
    for context in ("window", "chunked"):
        variant = ml_collections.ConfigDict(config_to_dict(config))
        variant.model.audio_encoder.context = context
        if progress:
            print(f"timing training steps with Whisper context '{context}' …", flush=True)
        setup = build(variant, load_pretrained=False)
        features = None
        if context == "chunked":  # the cache's rows (values do not matter for speed)
            width = 2 * variant.model.audio_encoder.architecture["d_model"]
            rng = np.random.default_rng(0)
            features = rng.standard_normal((clips.num_frames, width)).astype(STORED_DTYPE)
            chunked = ChunkedWhisper.of_model(setup.family.audio_encoder_config, setup.state.params)
        batcher = create_batcher(clips, spec, int(variant.data.num_threads), features=features)
        step = make_train_step(setup.family, setup.tx, variant)
        reference = jnp.zeros((int(variant.model.num_landmarks), 3))
        rates[context] = _step_rate(step, variant, setup, reference, bench, batcher=batcher)
    minute = speechlike(1, 60 * 16000)[0]
    if progress:
        print("timing the feature cache's encoding of 60 s …", flush=True)
    per_minute = (
        1.0 / measure_rate(lambda: chunked.encode(minute), round_seconds=0, rounds=1)["median"]
    )
    return {
        "window_encoder_every_step_steps_per_s": rates["window"]["median"],
        "cached_features_steps_per_s": rates["chunked"]["median"],
        "speedup": rates["chunked"]["median"] / rates["window"]["median"],
        "rounds": rates,
        "cache_encode_seconds_per_audio_minute": per_minute,
        "note": "teacher forcing, same decoder, batch and clips; every timed step includes its "
        "batch: 'window' gets audio from the C++ batcher and runs the frozen Whisper on every "
        "window inside the step; 'cached' gets the cache's float16 features gathered per batch "
        "(the C++ batcher assembles no audio), converted to float32. Medians of rounds.",
    }


def run_train_bench(
    config: ml_collections.ConfigDict, bench: TrainBenchConfig, progress: bool = True
) -> dict:
    from talkmesh_jax.train.loop import resolve_encoder_architecture

    resolve_encoder_architecture(config)
    setup = build(config, load_pretrained=False)
    batch = _batch(config, setup.family)
    reference = jnp.zeros((int(config.model.num_landmarks), 3))
    rates, spreads, memory = _train_rates(config, setup, batch, reference, bench, progress)
    inference, inference_spreads = _inference_rates(config, setup, bench, progress)
    rates.update(inference)
    spreads.update(inference_spreads)
    anchor = _anchor(progress) if bench.anchor else None
    batch_frames = int(config.data.batch_size) * int(config.data.window_frames)
    results = {
        "benchmark": "train",
        "machine": machine_info(),
        "config": config_to_dict(config),
        "parallel": f"{config.train.parallel} over {jax.local_device_count()} device(s)",
        "batch_frames": batch_frames,
        "window_frames": int(config.data.window_frames),
        "inference_seconds": bench.inference_seconds,
        **rates,
        "rounds": spreads,
        "step_temp_memory_bytes": memory,
        "teacher_forcing_frames_per_s": rates["teacher_forcing_steps_per_s"] * batch_frames,
        "teacher_forcing_vs_original": rates["teacher_forcing_steps_per_s"]
        / rates["original_procedure_steps_per_s"],
        "autoregressive_vs_original": rates["autoregressive_steps_per_s"]
        / rates["original_procedure_steps_per_s"],
        "cached_vs_uncached_inference": rates["cached_inference_fps"]
        / rates["uncached_inference_fps"],
        "original_torch_step": anchor,
        "feature_cache": feature_cache_rates(config, bench, progress),
        "note": "original_procedure and uncached inference re-run the decoder over the prefix "
        "for every frame, as the original did; prefixes are padded to the end of groups of "
        f"max({RECOMPUTE_MIN_GROUP}, T/{RECOMPUTE_GROUPS}) frames (static shapes), a little more "
        "work than the original's exact prefix. Inference goes through the export Predictor: "
        "windows of the training length, a fifth overlapping.",
    }
    return results  # the anchor is its own row: another model and batch, no ratio to ours


def format_table(results: dict) -> str:
    frames = results["batch_frames"]
    rows = [
        ("teacher forcing", "teacher_forcing"),
        ("autoregressive (cached scan, remat)", "autoregressive"),
        ("original procedure (recompute prefix)", "original_procedure"),
    ]
    windows = frames // results["window_frames"]
    memory = results["step_temp_memory_bytes"]
    lines = [
        f"training, batch {windows} x {results['window_frames']} frames, {results['parallel']}: "
        "steps/s (min–max of rounds)   frames/s   step memory",
    ]
    for name, key in rows:
        rate, spread = results[f"{key}_steps_per_s"], results["rounds"][key]
        lines.append(
            f"  {name:<40} {rate:>8.2f} ({spread['min']:.2f}–{spread['max']:.2f}) "
            f"{rate * frames:>10.0f} {memory[key] / 2**20:>9.1f} MB"
        )
    lines.append(
        f"  autoregressive without remat: {memory['autoregressive_without_remat'] / 2**20:.1f} MB"
    )
    lines.append(f"  teacher forcing / original: {results['teacher_forcing_vs_original']:.1f}x")
    anchor = results.get("original_torch_step")
    if anchor:
        lines.append(
            f"  original's step re-enacted in PyTorch (whisper-small 30 s, batch "
            f"{anchor['batch_frames'] // anchor['window_frames']} x {anchor['window_frames']}): "
            f"{anchor['step_s']:.1f} s/step ({anchor['encoder_s']:.1f} s encoder, "
            f"{anchor['decoder_s']:.1f} s decoder + backward + Adam)"
        )
    seconds = results["inference_seconds"]
    lines.append(f"inference frames/s ({seconds:g} s of audio through the export Predictor):")
    lines.append(f"  {'with key/value cache':<40} {results['cached_inference_fps']:>8.0f}")
    lines.append(f"  {'without (recompute prefix)':<40} {results['uncached_inference_fps']:>8.0f}")
    lines.append(f"  cached / uncached: {results['cached_vs_uncached_inference']:.1f}x")
    cache = results.get("feature_cache")
    if cache:
        lines.append(
            "frozen Whisper, teacher-forcing steps/s with their batches (min–max of rounds):"
        )
        window = cache["window_encoder_every_step_steps_per_s"]
        spread = cache["rounds"]
        lines.append(
            f"  {'encoder every step (windows)':<40} {window:>8.2f} "
            f"({spread['window']['min']:.2f}–{spread['window']['max']:.2f})"
        )
        cached = cache["cached_features_steps_per_s"]
        lines.append(
            f"  {'cached features (30 s chunks)':<40} {cached:>8.2f} "
            f"({spread['chunked']['min']:.2f}–{spread['chunked']['max']:.2f})"
        )
        lines.append(
            f"  speed-up {cache['speedup']:.1f}x; building the cache: "
            f"{cache['cache_encode_seconds_per_audio_minute']:.1f} s per minute of audio"
        )
    return "\n".join(lines)
