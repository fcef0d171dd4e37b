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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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


def run_retarget_bench(config: RetargetBenchConfig, progress: bool = True) -> dict:
    """{"builtin", "arkit52", "scipy", "goal_fps", …} (module docstring)."""
    rng = np.random.default_rng(config.seed)
    with tqdm(total=2, desc="retarget", disable=not progress) as bar:
        builtin = _builtin_row(config, rng)
        bar.update(1)
        arkit52, scipy = _arkit52_rows(config, rng)
        bar.update(1)
    return {
        "benchmark": "retarget",
        "frames": config.frames,
        "noise_cm": config.noise_cm,
        "iterations": SolveOptions().iterations,
        "builtin": builtin,
        "arkit52": arkit52,
        "scipy": scipy,
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
        ]
    )
