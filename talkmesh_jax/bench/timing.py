"""Timing helpers shared by the benchmarks: warm up, then the median of several rounds."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def calls_per_second(
    fn: Callable[[], object], *, round_seconds: float = 0.25, rounds: int = 5
) -> float:
    """Median rate (calls/s) over `rounds` rounds of about `round_seconds` each.

    One call is made first as a warm-up (compilation, page faults, caches); it also sizes the
    rounds. Callers that dispatch asynchronously (JAX) must block inside `fn`.
    """
    start = time.perf_counter()
    fn()
    first = max(time.perf_counter() - start, 1e-7)
    per_round = max(1, int(round_seconds / first))
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            fn()
        rates.append(per_round / (time.perf_counter() - start))
    return statistics.median(rates)


def machine_info() -> dict:
    """What a benchmark figure was measured on."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
