"""`talkmesh plot RUN`: training loss and validation curves as a PNG (beside the run by default:
reading a run never writes into it); for a categorical latent (MeshTalk) a third panel with its
usage: code perplexity (encoder and sampled) and the share of codes the expression input moves."""

from __future__ import annotations

from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.run_dir import RunDir
from talkmesh_jax.train.logs import read_metrics
from talkmesh_jax.train.validation import CODE_METRICS
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
    codes = {k: [(r["step"], r[k]) for r in records if k in r] for k in CODE_METRICS}
    codes = {k: v for k, v in codes.items() if v}
    figure, axes = plt.subplots(1, 3 if codes else 2, figsize=(16 if codes else 11, 4))
    left, right = axes[0], axes[1]
    left.plot(*zip(*train, strict=True), color="tab:blue")
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_title("training loss (weighted MSE of the targets)")
    if valid:
        right.plot(*zip(*valid, strict=True), marker="o", color="tab:red")
    right.set_xlabel("step")
    right.set_title(VALIDATION[key])
    if codes:
        _plot_codes(axes[2], codes)
    figure.suptitle(str(workdir))
    figure.tight_layout()
    out = Path(out) if out else RunDir(workdir).beside("curves.png")
    with atomic_path(out) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
    return out


def _plot_codes(axis, codes: dict) -> None:
    """Perplexities (left axis) and the expression share (right axis, 0–1) against steps."""
    for key in ("code_perplexity", "sample_code_perplexity"):
        if key in codes:
            axis.plot(*zip(*codes[key], strict=True), marker=".", label=CODE_METRICS[key])
    axis.set_xlabel("step")
    axis.set_ylabel("perplexity (1 = a dead head)")
    axis.set_title("latent usage")
    share = axis.twinx()
    shares = (("code_expression_share", "tab:green"), ("code_changing_heads", "tab:gray"))
    for key, colour in shares:
        if key in codes:
            share.plot(*zip(*codes[key], strict=True), color=colour, label=CODE_METRICS[key])
    share.set_ylim(0, 1)
    lines = axis.get_legend_handles_labels()
    more = share.get_legend_handles_labels()
    axis.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper left")
