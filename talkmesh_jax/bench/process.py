"""Measuring a whole command from outside its process: wall time, peak RSS (its own high-water
mark, VmHWM), and RSS sampled over time against the progress of the file the command is writing, so
that memory growth *during* the work shows even when it stays under the start-up peak."""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ProcessRun:
    """What one run of a command cost: `wall_s` seconds from start to exit, `peak_rss_mb` (the
    kernel's high-water mark of its resident set, last read just before it exited), and samples
    of (seconds, RSS MB, bytes written so far)."""

    wall_s: float
    peak_rss_mb: float
    samples: np.ndarray  # [n, 3]: time s, RSS MB, output bytes

    def growth_mb(self, expected_bytes: int, after: float = 0.1, until: float = 0.9) -> float:
        """RSS growth while the output grows from `after` to `until` of `expected_bytes`: the
        least-squares slope of RSS against bytes written (MB of RSS per MB of output) times the
        MB written in between. Start-up and the first compilation are over before the first
        frames are written, and the last, partial batch (which compiles a smaller shape) comes
        after `until`; a command that keeps every frame grows by about what it writes (slope
        ≈ 1), one that streams stays flat (slope ≈ 0), whatever the allocator's passing ups and
        downs."""
        progress = self.samples[:, 2] / max(expected_bytes, 1)
        during = self.samples[(progress >= after) & (progress <= until)]
        written_mb = during[:, 2] / 2**20
        if len(during) < 3 or np.ptp(written_mb) == 0:
            raise RuntimeError(
                f"only {len(during)} RSS samples while {after:.0%}–{until:.0%} of the output "
                "was written: use longer audio"
            )
        slope = np.polyfit(written_mb, during[:, 1], 1)[0]
        return float(slope * (until - after) * expected_bytes / 2**20)


def _memory_mb(pid: int) -> tuple[float, float] | None:
    """(RSS, its high-water mark) of a running process, MB; None once it is gone. The mark is
    the process's own since its exec (unlike `ru_maxrss`, which keeps the parent's size at the
    fork for a child that was large then)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line[:5]] = int(line.split()[1]) / 1024
    except (OSError, IndexError, ValueError):
        return None
    if len(values) < 2:
        return None
    return values["VmRSS"], values["VmHWM"]


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
    samples, peak = [], 0.0
    while process.poll() is None:
        memory = _memory_mb(process.pid)
        written = _bytes_written(output_folder, output_pattern) if output_folder else 0
        if memory is not None:
            samples.append((time.perf_counter() - start, memory[0], written))
            peak = max(peak, memory[1])
        time.sleep(interval_s)
    wall = time.perf_counter() - start
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if process.returncode != 0:
        last = stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{command[0]} … exited with {process.returncode}: {last[0]}")
    return ProcessRun(wall, peak, np.asarray(samples, np.float64).reshape(-1, 3))
