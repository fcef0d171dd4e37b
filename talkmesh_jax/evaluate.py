"""`talkmesh eval`: the metrics of `metrics.py` on a split, for the model and static baselines."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.facemesh import region_indices
from talkmesh_jax.fileio import atomic_path, write_json
from talkmesh_jax.metrics import all_metrics
from talkmesh_jax.runs import open_run

METHODS = ("model", "mean_face", "close_mouth_face")


def _fit_length(x: np.ndarray, frames: int) -> np.ndarray:
    if len(x) >= frames:
        return x[:frames]
    return np.concatenate([x, np.repeat(x[-1:], frames - len(x), axis=0)])


def evaluate(
    workdir: str | os.PathLike,
    split: str = "test",
    checkpoint: str = "best",
    show_progress: bool = True,
) -> tuple[dict, list[dict]]:
    """(summary, per-clip rows). Summary metrics are averages over clips weighted by their valid
    frames; units are the dataset's (cm), lve_squared and MSEs in cm²."""
    config, predictor, step = open_run(workdir, checkpoint)
    dataset = Dataset(config.data.dataset)
    names = dataset.names_in(split)
    if not names:
        raise TalkmeshError(f"{dataset.root}: no clips in split part {split!r}")
    regions = region_indices()
    template = predictor.faces["close_mouth_face"]
    count = template.shape[0]
    rows = []
    for name in tqdm(names, unit="clip", desc=f"eval {split}", disable=not show_progress):
        audio, landmarks, valid = dataset.load_clip(name)
        truth = landmarks[:, :count]
        if not valid.any():
            continue
        predictions = {
            "model": _fit_length(predictor.predict(audio), len(valid)),
            "mean_face": np.broadcast_to(predictor.faces["mean_face"], truth.shape),
            "close_mouth_face": np.broadcast_to(template, truth.shape),
        }
        for method, prediction in predictions.items():
            metrics = all_metrics(prediction, truth, valid, regions, template)
            rows.append(
                {"clip": name, "method": method, "valid_frames": int(valid.sum()), **metrics}
            )
    summary = {
        "run": str(workdir),
        "checkpoint_step": step,
        "split": split,
        "clips": len({r["clip"] for r in rows}),
        "valid_frames": sum(r["valid_frames"] for r in rows if r["method"] == "model"),
        "units": "dataset units (cm for metric landmarks); lve_squared and MSEs squared",
        "metrics": {m: _weighted_mean([r for r in rows if r["method"] == m]) for m in METHODS},
        "regions": {"lips": regions["lips"], "upper_face": regions["upper_face"]},
        "fdd_template": "close_mouth_face",
    }
    return summary, rows


def _weighted_mean(rows: list[dict]) -> dict[str, float]:
    weights = np.array([r["valid_frames"] for r in rows], float)
    keys = [k for k in rows[0] if k not in ("clip", "method", "valid_frames")]
    return {k: float(np.average([r[k] for r in rows], weights=weights)) for k in keys}


def write_results(summary: dict, rows: list[dict], json_path: Path, csv_path: Path) -> None:
    write_json(json_path, summary)
    with atomic_path(csv_path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def format_summary(summary: dict) -> str:
    keys = list(summary["metrics"]["model"])
    lines = [
        f"{summary['run']} step {summary['checkpoint_step']}, {summary['split']}: "
        f"{summary['clips']} clips, {summary['valid_frames']} valid frames",
        f"  {'':<18}" + "".join(f"{k:>18}" for k in keys),
    ]
    for method, metrics in summary["metrics"].items():
        lines.append(f"  {method:<18}" + "".join(f"{metrics[k]:>18.5f}" for k in keys))
    return "\n".join(lines)
