"""`talkmesh bench retarget`: how fast and how exactly rig weights are solved from landmarks.

Rows (all on the CPU here, float32 in the solve):
  builtin   the built-in rig (`rig/builtin_rig.py`: 15 ARKit-named targets on 478 landmarks):
            known weights (uniform in [0, 1], 40 % of them nonzero) → landmarks (+ optional
            noise) → `rig.solve.solve_weights` → weights; frames/s and the round trip's error on
            the mouth and the upper-face targets;
  arkit52   52 random targets on 478 landmarks (the size of an ARKit rig): frames/s;
  scipy     the baseline: `scipy.optimize.lsq_linear` (BVLS, float64, exact) on the same 52-target
            frames one at a time, frames/s, and our weights' largest difference from its.
Frames/s: the first call in the process (compilation included) beside the steady state (median
of rounds after it), both over all frames at once.
  process   the headline: one whole `talkmesh retarget` process (start-up, imports, opening the
            run, prediction, solve, writing .glb/CSV/wav/page) on `process_seconds` of speech-like
            audio with a random-weight run of the demo's config (`whisper_tiny`, Whisper tiny of
            random weights, as `bench export` makes them), cold; beside it, one `talkmesh export`
            process (npy) on the same run and audio: what driving the rig adds to an export.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax.bench.timing import machine_info, measure_rate
from talkmesh_jax.rig.builtin_rig import MOUTH_TARGETS, TARGET_NAMES, builtin_rig
from talkmesh_jax.rig.solve import SolveOptions, solve_weights

GOAL_FPS = 1000.0  # 40× real time at 25 fps


@dataclass(frozen=True)
class RetargetBenchConfig:
    frames: int = 2000
    scipy_frames: int = 200
    noise_cm: float = 0.0
    round_seconds: float = 0.5
    seed: int = 0
    process_seconds: float = 60.0  # 0: no process rows


def _known_weights(rng: np.random.Generator, frames: int, count: int) -> np.ndarray:
    return rng.uniform(0, 1, (frames, count)) * (rng.random((frames, count)) < 0.4)


def _rate(solve, frames: int, round_seconds: float) -> dict:
    start = time.perf_counter()
    solve()
    cold = frames / (time.perf_counter() - start)
    steady = measure_rate(solve, round_seconds=round_seconds, rounds=3)
    return {"cold_fps": cold, "steady_fps": frames * steady["median"]}


def _builtin_row(config: RetargetBenchConfig, rng: np.random.Generator) -> dict:
    _, targets = builtin_rig()
    basis = np.stack([targets[n] for n in TARGET_NAMES])
    truth = _known_weights(rng, config.frames, len(basis))
    moved = np.einsum("tk,knc->tnc", truth, basis)
    moved += rng.normal(0, config.noise_cm, moved.shape) if config.noise_cm else 0.0
    options = SolveOptions()
    solved = solve_weights(moved, basis, options=options)
    error = np.abs(solved - truth)
    mouth = [TARGET_NAMES.index(n) for n in MOUTH_TARGETS]
    upper = [i for i in range(len(TARGET_NAMES)) if i not in mouth]
    row = _rate(
        lambda: solve_weights(moved, basis, options=options), config.frames, config.round_seconds
    )
    return {
        **row,
        "targets": len(basis),
        "landmarks": basis.shape[1],
        "round_trip_max_error_mouth": float(error[:, mouth].max()),
        "round_trip_max_error_upper": float(error[:, upper].max()),
        "round_trip_mean_error": float(error.mean()),
    }


def _arkit52_rows(config: RetargetBenchConfig, rng: np.random.Generator) -> tuple[dict, dict]:
    from scipy.optimize import lsq_linear

    basis = rng.normal(0, 0.3, (52, 478, 3)).astype(np.float32)
    truth = _known_weights(rng, config.frames, 52)
    moved = np.einsum("tk,knc->tnc", truth, basis).astype(np.float32)
    options = SolveOptions()
    ours = _rate(
        lambda: solve_weights(moved, basis, options=options), config.frames, config.round_seconds
    )
    solved = solve_weights(moved, basis, options=options)
    matrix = basis.reshape(52, -1).T.astype(np.float64)
    count = min(config.scipy_frames, config.frames)
    start, theirs = time.perf_counter(), []
    for frame in moved[:count]:
        lsq = lsq_linear(matrix, frame.reshape(-1).astype(np.float64), bounds=(0, 1), method="bvls")
        theirs.append(lsq.x)
    scipy_fps = count / (time.perf_counter() - start)
    difference = float(np.abs(solved[:count] - np.array(theirs)).max())
    scipy = {"fps": scipy_fps, "frames": count, "max_difference_from_ours": difference}
    return {**ours, "targets": 52, "landmarks": 478}, scipy


def process_rows(seconds: float) -> dict:
    """One `talkmesh retarget` process and one `talkmesh export` process (module docstring)."""
    from talkmesh_jax.bench.export import export_command, write_long_wav, write_random_run
    from talkmesh_jax.bench.process import run_measured

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        run = write_random_run("whisper_tiny", tmp / "run", "tiny")
        wav = write_long_wav(tmp / "speech.wav", seconds)
        retarget = [sys.executable, "-m", "talkmesh_jax.cli", "retarget", "--workdir", str(run)]
        retarget += ["--audio", str(wav), "--out", str(tmp / "rig.glb")]
        retarget_s = run_measured(retarget).wall_s
        export_s = run_measured(export_command(run, wav, tmp / "export.npy")).wall_s
    return {
        "audio_seconds": seconds,
        "model": "whisper_tiny config, Whisper tiny random weights, the built-in rig",
        "retarget_process_s": retarget_s,
        "export_process_s": export_s,
        "rtf_retarget_process": seconds / retarget_s,
        "rtf_export_process": seconds / export_s,
        "retarget_over_export": retarget_s / export_s,
    }


def run_retarget_bench(config: RetargetBenchConfig, progress: bool = True) -> dict:
    """{"builtin", "arkit52", "scipy", "process", "goal_fps", …} (module docstring)."""
    rng = np.random.default_rng(config.seed)
    steps = 3 if config.process_seconds > 0 else 2
    with tqdm(total=steps, desc="retarget", disable=not progress) as bar:
        builtin = _builtin_row(config, rng)
        bar.update(1)
        arkit52, scipy = _arkit52_rows(config, rng)
        bar.update(1)
        process = process_rows(config.process_seconds) if config.process_seconds > 0 else None
        bar.update(steps - 2)
    return {
        "benchmark": "retarget",
        "frames": config.frames,
        "noise_cm": config.noise_cm,
        "iterations": SolveOptions().iterations,
        "builtin": builtin,
        "arkit52": arkit52,
        "scipy": scipy,
        "process": process,
        "rtf_retarget_process": process["rtf_retarget_process"] if process else None,
        "solve_fps_arkit52": arkit52["steady_fps"],
        "speedup_vs_scipy": arkit52["steady_fps"] / scipy["fps"],
        "goal_fps": GOAL_FPS,
        "machine": machine_info(),
    }


def format_table(results: dict) -> str:
    b, a, s = results["builtin"], results["arkit52"], results["scipy"]
    return "\n".join(
        [
            f"rig-weight solve, {results['frames']} frames at once "
            f"({results['iterations']} FISTA iterations, float32):",
            f"  built-in rig ({b['targets']} targets, {b['landmarks']} landmarks): "
            f"{b['steady_fps']:.0f} frames/s steady (first call {b['cold_fps']:.0f}); round trip "
            f"max error mouth {b['round_trip_max_error_mouth']:.5f}, upper face "
            f"{b['round_trip_max_error_upper']:.5f} (noise {results['noise_cm']} cm)",
            f"  52 targets, 478 landmarks: {a['steady_fps']:.0f} frames/s steady (first call "
            f"{a['cold_fps']:.0f}; goal {results['goal_fps']:.0f})",
            f"  scipy lsq_linear (BVLS, float64, one frame at a time): {s['fps']:.0f} frames/s; "
            f"ours {results['speedup_vs_scipy']:.1f}× it, weights within "
            f"{s['max_difference_from_ours']:.5f} of its",
            *_process_lines(results["process"]),
        ]
    )


def _process_lines(process: dict | None) -> list[str]:
    if process is None:
        return []
    return [
        f"one talkmesh retarget process (headline, cold), {process['audio_seconds']:g} s of audio: "
        f"{process['retarget_process_s']:.1f} s = {process['rtf_retarget_process']:.1f}× real time",
        f"  one talkmesh export process (npy), same run and audio: "
        f"{process['export_process_s']:.1f} s = {process['rtf_export_process']:.1f}× real time; "
        f"retarget takes {process['retarget_over_export']:.2f}× the export's time",
    ]
