"""Running one job per video over a process pool: progress bar, failures isolated, a summary.

A job is a picklable callable `job(name, progress) -> frames` that raises on failure;
`progress(n)` reports n more frames done. One failing video never stops the others.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from tqdm import tqdm

from talkmesh_jax import TalkmeshError

Job = Callable[[str, Callable[[int], None]], int]


@dataclass
class Summary:
    """Outcome of a batch: names done, skipped (already complete) and failed (with reasons)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def format(self, what: str = "videos") -> str:
        line = (
            f"{what}: {len(self.done)} done, {len(self.skipped)} skipped (already done), "
            f"{len(self.failed)} failed in {self.seconds:.1f} s"
        )
        if self.frames:
            line += f"; {self.frames} frames, {self.frames_per_second:.1f} frames/s"
        lines = [line]
        lines += [f"  failed: {reason}" for reason in self.failed.values()]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "frames": self.frames,
            "seconds": self.seconds,
            "frames_per_second": self.frames_per_second,
        }


def describe_error(err: BaseException) -> str:
    """One line: a TalkmeshError's own message, else the exception type and message."""
    text = str(err) if isinstance(err, TalkmeshError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())


def _report_failure(summary: Summary, name: str, err: BaseException, bar: tqdm) -> None:
    summary.failed[name] = describe_error(err)
    bar.write(f"talkmesh: error: {summary.failed[name]}", file=sys.stderr)


class _QueueProgress:
    """Picklable progress callback that forwards frame counts to the parent through a queue."""

    def __init__(self, channel):
        self.channel = channel

    def __call__(self, frames: int) -> None:
        self.channel.put(frames)


def run_jobs(
    names: Sequence[str],
    job: Job,
    workers: int = 1,
    total_frames: int | None = None,
    description: str = "frames",
    show_progress: bool = True,
) -> Summary:
    """Runs `job` on each name; `workers` > 1 uses that many processes (spawned)."""
    summary = Summary()
    start = time.perf_counter()
    bar = tqdm(total=total_frames, unit="frame", desc=description, disable=not show_progress)
    try:
        if workers <= 1 or len(names) <= 1:
            _run_inline(names, job, summary, bar)
        else:
            _run_pool(names, job, workers, summary, bar)
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - start
    return summary


def _run_inline(names: Sequence[str], job: Job, summary: Summary, bar: tqdm) -> None:
    for name in names:
        try:
            summary.frames += job(name, bar.update)
            summary.done.append(name)
        except Exception as err:  # noqa: BLE001 - one bad video never stops the run
            _report_failure(summary, name, err, bar)


def _run_pool(names: Sequence[str], job: Job, workers: int, summary: Summary, bar: tqdm) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        channel = manager.Queue()
        progress = _QueueProgress(channel)
        futures = {pool.submit(job, name, progress): name for name in names}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(channel, bar)
            for future in finished:
                name = futures[future]
                try:
                    summary.frames += future.result()
                    summary.done.append(name)
                except Exception as err:  # noqa: BLE001 - includes a crashed worker
                    _report_failure(summary, name, err, bar)
        _drain(channel, bar)


def _drain(channel, bar: tqdm) -> None:
    while True:
        try:
            bar.update(channel.get_nowait())
        except queue.Empty:
            return
