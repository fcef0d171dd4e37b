"""`talkmesh plot RUN`: training loss and validation LVE curves as a PNG."""

from __future__ import annotations

from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.train.logs import read_metrics


def plot_run(workdir: str | Path, out: str | Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workdir = Path(workdir)
    records = read_metrics(workdir)
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    valid = [(r["step"], r["valid_lve"]) for r in records if "valid_lve" in r]
    if not train:
        raise TalkmeshError(f"{workdir / 'metrics.jsonl'}: no training metrics yet")
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(*zip(*train, strict=True), color="tab:blue")
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_title("training loss (MSE of the target, cm²)")
    if valid:
        right.plot(*zip(*valid, strict=True), marker="o", color="tab:red")
    right.set_xlabel("step")
    right.set_title("validation LVE (cm)")
    figure.suptitle(str(workdir))
    figure.tight_layout()
    out = Path(out) if out else workdir / "curves.png"
    with atomic_path(out) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
    return out
