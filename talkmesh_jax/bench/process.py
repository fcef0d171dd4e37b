"""Measuring a whole command from outside its process: wall time, peak RSS (the kernel's count,
`wait4`), and RSS sampled over time against the progress of the file the command is writing, so
that memory growth *during* the work shows even when it stays under the start-up peak."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class ProcessRun:
    """What one run of a command cost: `wall_s` seconds from start to exit, `peak_rss_mb` (the
    kernel's maximum resident set), and samples of (seconds, RSS MB, bytes written so far)."""

    wall_s: float
    peak_rss_mb: float
    samples: np.ndarray  # [n, 3]: time s, RSS MB, output bytes

    def growth_mb(self, expected_bytes: int, after: float = 0.1, until: float = 0.9) -> float:
        """RSS growth while the output grows: the largest RSS while `after` to `until` of
        `expected_bytes` are written, minus the RSS when `after` was reached. Start-up and the
        first compilation are over before the first frames are written, and the last, partial
        batch (which compiles a smaller shape) comes after `until`; a command that keeps every
        frame grows with its output in between, one that streams stays flat."""
        progress = self.samples[:, 2] / max(expected_bytes, 1)
        during = self.samples[(progress >= after) & (progress <= until)]
        if len(during) < 2:
            raise RuntimeError(
                f"only {len(during)} RSS samples while {after:.0%}–{until:.0%} of the output "
                "was written: use longer audio"
            )
        return float(during[:, 1].max() - during[0, 1])


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB / 1024
    except (OSError, IndexError, ValueError):
        return None


def _bytes_written(folder: Path, pattern: str) -> int:
    total = 0
    for path in folder.glob(pattern):
        try:
            total += path.stat().st_size
        except OSError:  # renamed between glob and stat
            pass
    return total


def run_measured(
    command: list[str],
    output_folder: Path | None = None,
    output_pattern: str = "*",
    interval_s: float = 0.01,
    env: dict | None = None,
) -> ProcessRun:
    """Runs `command` to its end, sampling its RSS (and the size of the files matching
    `output_pattern` in `output_folder`, temporary names included) every `interval_s`. A failing
    command raises RuntimeError with the end of its stderr."""
    errors = tempfile.TemporaryFile("w+")  # a pipe could fill up and stall the command
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env)
    samples = []
    while True:  # wait4 (not Popen.poll) reaps the child with its own resource usage
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        rss = _rss_mb(process.pid)
        written = _bytes_written(output_folder, output_pattern) if output_folder else 0
        if rss is not None:
            samples.append((time.perf_counter() - start, rss, written))
        time.sleep(interval_s)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if process.returncode != 0:
        last = stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{command[0]} … exited with {process.returncode}: {last[0]}")
    peak = usage.ru_maxrss / 1024  # Linux: kB
    return ProcessRun(wall, peak, np.asarray(samples, np.float64).reshape(-1, 3))
