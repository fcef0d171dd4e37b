"""What a run writes for people: metrics.jsonl and TensorBoard event files."""

from __future__ import annotations

import json
import math
from pathlib import Path

from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.run_dir import RunDir


class MetricsLog:
    """Appends {"step", …} lines to RUN/metrics.jsonl and scalars to RUN/tensorboard/.

    On resume from step s, lines after s (from the part of the run that was lost) are dropped,
    so the file reads as one uninterrupted run. With `enabled=False` (processes other than 0 of
    a multi-process run) it writes nothing.
    """

    def __init__(
        self, workdir: Path, tensorboard: bool = True, resume_step: int = 0, enabled: bool = True
    ):
        self.path = RunDir(workdir).metrics
        self.enabled = enabled
        self.writer = None
        if not enabled:
            return
        if self.path.exists():
            kept = [
                json.dumps(record)
                for record in _parse_lines(self.path.read_text())
                if record["step"] <= resume_step
            ]
            with atomic_path(self.path) as tmp:
                tmp.write_text("".join(f"{line}\n" for line in kept))
        if tensorboard:
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(
                str(RunDir(workdir).tensorboard), purge_step=resume_step + 1
            )

    def write(self, step: int, **values: float) -> None:
        if not self.enabled:
            return
        record = {"step": step, **{k: v for k, v in values.items() if v is not None}}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, float) and math.isfinite(value):
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _parse_lines(text: str) -> list[dict]:
    """The records of metrics.jsonl text; a line that is not a complete record (the last line cut
    short by a full disk or a network filesystem) is skipped."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


def read_metrics(workdir: Path) -> list[dict]:
    path = RunDir(workdir).metrics
    if not path.exists():
        return []
    return _parse_lines(path.read_text())
