"""`talkmesh plot RUN`: training loss and validation curves as a PNG (beside the run by default:
reading a run never writes into it)."""

from __future__ import annotations

from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.run_dir import RunDir
from talkmesh_jax.train.logs import read_metrics
from talkmesh_jax.train.validation import METRICS as VALIDATION


def plot_run(workdir: str | Path, out: str | Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workdir = Path(workdir)
    records = read_metrics(workdir)
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    key = next((k for k in VALIDATION if any(k in r for r in records)), "valid_lve")
    valid = [(r["step"], r[key]) for r in records if key in r]
    if not train:
        raise TalkmeshError(f"{RunDir(workdir).metrics}: no training metrics yet")
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(*zip(*train, strict=True), color="tab:blue")
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_title("training loss (weighted MSE of the targets)")
    if valid:
        right.plot(*zip(*valid, strict=True), marker="o", color="tab:red")
    right.set_xlabel("step")
    right.set_title(VALIDATION[key])
    figure.suptitle(str(workdir))
    figure.tight_layout()
    out = Path(out) if out else RunDir(workdir).beside("curves.png")
    with atomic_path(out) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
    return out
