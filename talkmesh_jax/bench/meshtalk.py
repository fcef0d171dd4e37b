"""`talkmesh bench meshtalk`: MeshTalk training steps/s (each stage; landmarks and registered
meshes) and sampling frames/s, on random weights and speech-like audio.

Training steps go through `DataParallel` with the state on the device and donated, as
`talkmesh train` runs them; each stage is timed from a state at its first step (step number and
optimiser counters), so the stage's own optimiser update is part of the time. Sampling is the
shipped path (`MeshTalkFamily.generate`: codes drawn frame by frame and head by head from the
context model, then decoded) on one sequence of `sample_seconds`; it is timed with all cores and
again in a subprocess pinned to one core (`taskset -c 0`, XLA's CPU thread pools at one thread):
`sampling_fps_one_core`. Reference row: the context model's teacher-forced pass over the same
frames with known codes (all frames and heads at once, what training computes): the work
sampling does, without its sequential order.
Rates are medians of timed rounds after a warm-up call (compilation excluded).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from talkmesh_jax import FPS, SAMPLES_PER_FRAME
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import machine_info, measure_rate
from talkmesh_jax.config import apply_overrides, config_to_dict, load_config
from talkmesh_jax.models.meshtalk.model import MeshTalk

# XLA validates every flag spelt with "--" (an unknown one aborts the process), so a typo
# cannot be silently ignored; XLA's intra-op pool takes its size from the CPUs the process may use
# (taskset), and Eigen's own threads are switched off here.
ONE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false"


@dataclass(frozen=True)
class MeshTalkBenchConfig:
    sample_seconds: float = 10.0
    round_seconds: float = 1.0
    mesh_vertices_levels: int = 2  # the registered mesh: the canonical face subdivided twice
    one_core: bool = True


def _batch(config, vertices: int, rng) -> dict:
    b, t = int(config.data.batch_size), int(config.data.window_frames)
    return {
        "audio": speechlike(b, t * SAMPLES_PER_FRAME),
        "landmarks": rng.normal(0, 0.1, (b, t, vertices, 3)).astype(np.float32),
        "mask": np.ones((b, t), bool),
    }


def at_stage_start(state, start: int):
    """`state` at step `start`: its step number and the stages' optimiser counters (the
    `ActiveState` counts that switch each stage on) there, the stage's own moments fresh."""
    counters = optax.tree.set(state.opt_state, count=np.int32(start))
    return state.replace(step=np.int32(start), opt_state=counters)


def _train_rates(config, vertices: int, round_seconds: float) -> dict:
    """Steps/s of each stage (median of rounds) for a model of `vertices` vertices."""
    from talkmesh_jax.train.parallel import DataParallel
    from talkmesh_jax.train.setup import build
    from talkmesh_jax.train.step import make_train_step

    apply_overrides(config, [f"model.num_landmarks={vertices}"])
    setup = build(config, load_pretrained=False)
    runner = DataParallel(make_train_step(setup.family, setup.tx, config), config.train.parallel)
    batch = runner.put_batch(_batch(config, vertices, np.random.default_rng(0)))
    reference = jnp.zeros((vertices, 3))
    out = {}
    for stage in setup.family.stages():
        state = [runner.put_state(at_stage_start(setup.state, stage.start))]

        def run(state=state):
            state[0], metrics = runner.step(state[0], batch, reference)
            jax.block_until_ready(metrics["loss"])

        out[stage.name] = measure_rate(run, round_seconds=round_seconds, rounds=3)["median"]
    return out


def _teacher_forced(module: MeshTalk, audio, codes, frames: int):
    """The same work as sampling without its sequential order: the audio code, the context
    model over known codes (all frames and heads at once, as training computes it), and the
    decoder on those codes."""
    logits = module.context_logits(codes, module.audio_code(audio, frames))
    one_hot = jax.nn.one_hot(codes, module.config.num_classes)
    return module.decode(one_hot), logits


def sampling_rates(config: ml_collections.ConfigDict, seconds: float, round_seconds: float):
    """Frames/s of one `seconds` sequence: sampled (`family.generate`), its teacher-forced
    counterpart (same encoder, context model and decoder work, codes known), and through the
    export `Predictor` (overlapping windows of the training length, batched, cross-faded)."""
    from talkmesh_jax.inference.predictor import Predictor
    from talkmesh_jax.models.build import init_variables
    from talkmesh_jax.models.registry import build_family

    family = build_family(config)
    window = int(config.data.window_frames)
    variables = jax.device_put(init_variables(family, window, 0))
    frames = round(seconds * FPS)
    audio_host = speechlike(1, frames * SAMPLES_PER_FRAME)
    audio = jnp.asarray(audio_host)
    generate = jax.jit(lambda v, a, k: family.generate(v, a, frames, k, 1.0))
    key = jax.random.key(0)
    codes = jnp.zeros((1, frames, family.config.num_heads), jnp.int32)
    forced = jax.jit(lambda v, a, c: family.model.apply(v, a, c, frames, method=_teacher_forced))
    reference = np.zeros((int(config.model.num_landmarks), 3), np.float32)
    predictor = Predictor(family, variables, reference, window, int(config.eval.batch_size))
    timed = {
        "sampling_fps": lambda: jax.block_until_ready(generate(variables, audio, key)),
        "teacher_forced_fps": lambda: jax.block_until_ready(forced(variables, audio, codes)),
        "export_fps": lambda: predictor.predict_all(audio_host[0]),
    }
    return {
        name: frames * measure_rate(fn, round_seconds=round_seconds, rounds=3)["median"]
        for name, fn in timed.items()
    }


def one_core_environment() -> dict:
    """What the one-core subprocess runs on: the CPUs it may use, XLA_FLAGS and the threads
    its process has (after JAX has run)."""
    return {
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "process_threads": len(os.listdir("/proc/self/task")),
    }


def _one_core_rate(
    config_name: str, overrides: list[str], seconds: float, round_seconds: float
) -> dict:
    """Sampling frames/s in a subprocess on CPU 0 with one XLA thread."""
    env = dict(os.environ, XLA_FLAGS=ONE_THREAD_FLAGS, JAX_PLATFORMS="cpu")
    module = [sys.executable, "-m", "talkmesh_jax.bench.meshtalk"]
    command = [*module, config_name, str(seconds), str(round_seconds)]
    pinned = shutil.which("taskset") is not None
    if pinned:
        command = ["taskset", "-c", "0", *command]
    result = subprocess.run(
        [*command, *overrides], env=env, capture_output=True, text=True, check=True
    )
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "pinned_to_cpu0": pinned}


def run_meshtalk_bench(
    config_name: str, overrides: list[str], bench: MeshTalkBenchConfig, progress: bool = True
) -> dict:
    def configured() -> ml_collections.ConfigDict:
        config = load_config(config_name)
        apply_overrides(config, overrides)
        return config

    config = configured()
    vertices = int(config.model.num_landmarks or 478)
    if progress:
        print("timing landmark training steps …", flush=True)
    landmarks = _train_rates(configured(), vertices, bench.round_seconds)
    mesh_config = load_config("meshtalk_mesh")
    apply_overrides(mesh_config, overrides)
    from talkmesh_jax.data.synth_mesh import subdivision

    mesh_vertices = len(subdivision(bench.mesh_vertices_levels)[0])
    if progress:
        print(f"timing mesh training steps ({mesh_vertices} vertices) …", flush=True)
    meshes = _train_rates(mesh_config, mesh_vertices, bench.round_seconds)
    if progress:
        print(f"timing sampling of {bench.sample_seconds:g} s …", flush=True)
    apply_overrides(config, [f"model.num_landmarks={vertices}"])
    sampling = sampling_rates(config, bench.sample_seconds, bench.round_seconds)
    one_core = None
    if bench.one_core:
        if progress:
            print("timing sampling on one core …", flush=True)
        one_core = _one_core_rate(
            config_name,
            [*overrides, f"model.num_landmarks={vertices}"],
            bench.sample_seconds,
            bench.round_seconds,
        )
    mesh_batch = f"{mesh_config.data.batch_size} x {mesh_config.data.window_frames}"
    return {
        "benchmark": "meshtalk",
        "machine": machine_info(),
        "config": config_to_dict(config),
        "landmark_vertices": vertices,
        "landmark_batch": f"{config.data.batch_size} x {config.data.window_frames}",
        "landmark_steps_per_s": landmarks,
        "mesh_vertices": mesh_vertices,
        "mesh_batch": mesh_batch,
        "mesh_steps_per_s": meshes,
        "sample_seconds": bench.sample_seconds,
        "sampling_fps": sampling["sampling_fps"],
        "teacher_forced_fps": sampling["teacher_forced_fps"],
        "export_fps": sampling["export_fps"],
        "export_windows": f"{config.data.window_frames} frames, batch {config.eval.batch_size}",
        "note": "all rows include the audio encoder, the context model and the decoder; "
        "teacher_forced_fps knows the codes (all frames and heads at once); export_fps is "
        "talkmesh export's path: overlapping windows of the training length, batched",
        "sampling_fps_one_core": one_core["sampling_fps"] if one_core else None,
        "sampling_one_core": one_core,
        "sampling_realtime_factor_one_core": one_core["sampling_fps"] / FPS if one_core else None,
    }


def format_table(results: dict) -> str:
    land, mesh = results["landmark_steps_per_s"], results["mesh_steps_per_s"]
    lines = [
        "training steps/s           autoencoder (stage 1)   context model (stage 2)",
        f"  landmarks ({results['landmark_vertices']}, batch {results['landmark_batch']})"
        f"   {land['autoencoder']:>8.2f}   {land['context']:>8.2f}",
        f"  mesh ({results['mesh_vertices']}, batch {results['mesh_batch']})"
        f"   {mesh['autoencoder']:>8.2f}   {mesh['context']:>8.2f}",
        f"sampling frames/s ({results['sample_seconds']:g} s, landmarks, all cores; audio "
        "encoder, context model and decoder in every row):",
        f"  one sequence, sampled frame by frame and head by head: {results['sampling_fps']:.0f}",
        f"  reference: the same with known codes (teacher-forced, all frames at once): "
        f"{results['teacher_forced_fps']:.0f}",
        f"  talkmesh export's path (overlapping windows of {results['export_windows']}): "
        f"{results['export_fps']:.0f}",
    ]
    if results["sampling_fps_one_core"] is not None:
        lines.append(
            f"  one core: {results['sampling_fps_one_core']:.0f} frames/s = "
            f"{results['sampling_realtime_factor_one_core']:.1f}x real time (25 fps)"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # the one-core subprocess: config, seconds, overrides → JSON line
    name, seconds, round_seconds, *rest = sys.argv[1:]
    config = load_config(name)
    apply_overrides(config, rest)
    rates = sampling_rates(config, float(seconds), float(round_seconds))
    print(json.dumps({**rates, **one_core_environment()}))
