"""Timing helpers shared by the benchmarks: warm up, then the median of several rounds."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def measure_rate(
    fn: Callable[[], object], *, round_seconds: float = 0.25, rounds: int = 5
) -> dict[str, float]:
    """Rates (calls/s) of `rounds` rounds of about `round_seconds` each: {"median", "min",
    "max", "calls_per_round"}.

    A first call warms up (compilation, page faults, caches) and is not timed; a second, timed
    alone, sizes the rounds, so a slow compilation never makes the rounds too short. Callers that
    dispatch asynchronously (JAX) must block inside `fn`.
    """
    fn()
    start = time.perf_counter()
    fn()
    one = max(time.perf_counter() - start, 1e-7)
    per_round = max(1, int(round_seconds / one))
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            fn()
        rates.append(per_round / (time.perf_counter() - start))
    return {
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "calls_per_round": per_round,
    }


def calls_per_second(
    fn: Callable[[], object], *, round_seconds: float = 0.25, rounds: int = 5
) -> float:
    """The median of `measure_rate`."""
    return measure_rate(fn, round_seconds=round_seconds, rounds=rounds)["median"]


LIBRARIES = (
    "numpy",
    "jax",
    "jaxlib",
    "flax",
    "optax",
    "transformers",
    "torch",
    "mediapipe",
    "ctranslate2",
)


def machine_info() -> dict:
    """What a benchmark figure was measured on: machine, Python and library versions."""
    from importlib import metadata

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "libraries": versions,
    }
