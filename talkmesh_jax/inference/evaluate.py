"""`talkmesh eval`: the metrics of `metrics.py` on a split, for the model and static baselines.

Landmark models: LVE, MVE, FDD and MSEs against the static mean and close-mouth faces, per clip
and weighted by valid frames. Blendshape models (on a dataset with blendshapes): per coefficient
MAE, RMSE and correlation with the truth over all valid frames of the split, against the static
mean blendshapes of the training clips; the mouth coefficients' correlations are listed apart.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.facemesh import MOUTH_BLENDSHAPES, region_indices
from talkmesh_jax.fileio import atomic_path, write_json
from talkmesh_jax.inference.liveliness import Liveliness
from talkmesh_jax.inference.runs import open_run
from talkmesh_jax.metrics import all_metrics, blendshape_metrics, fit_length
from talkmesh_jax.regions import dataset_regions, region_vertices

METHODS = ("model", "mean_face", "close_mouth_face")
BLENDSHAPE_METHODS = ("model", "mean_blendshapes")


def _landmark_rows(name: str, truth, valid, predicted, faces, regions) -> list[dict]:
    template = faces["close_mouth_face"]
    predictions = {
        "model": predicted,
        "mean_face": np.broadcast_to(faces["mean_face"], truth.shape),
        "close_mouth_face": np.broadcast_to(template, truth.shape),
    }
    rows = []
    for method, prediction in predictions.items():
        metrics = all_metrics(prediction, truth, valid, regions, template)
        rows.append({"clip": name, "method": method, "valid_frames": int(valid.sum()), **metrics})
    return rows


def _regions(dataset: Dataset, weights: dict[str, np.ndarray], count: int) -> dict:
    """Lips, upper face and eyes vertex indices: MediaPipe's, or those of a mesh dataset's
    region `weights` (`regions.dataset_regions`)."""
    if dataset.info.face != "mesh":
        return region_indices()
    return {
        "lips": region_vertices(weights["lips"]).tolist(),
        "upper_face": region_vertices(weights["upper_face"]).tolist(),
        "eyes": region_vertices(weights["eyelids"]).tolist(),
        "face": list(range(count)),
    }


def evaluate(
    workdir: str | os.PathLike,
    split: str = "test",
    checkpoint: str = "best",
    show_progress: bool = True,
    seed: int = 0,
    temperature: float = 1.0,
    recorded: bool = True,
    context: str | None = None,
) -> tuple[dict, list[dict]]:
    """(summary, per-clip landmark rows). Landmark metrics are averages over clips weighted by
    their valid frames; units are the dataset's (cm), lve_squared and MSEs in cm². With
    blendshapes the summary has a "blendshapes" section (see the module docstring). `seed` and
    `temperature` drive sampling models (MeshTalk). With `recorded` (and a landmark model on the
    synthetic face), the "speech" section compares the split with the shipped recordings of
    people (`recorded_speech.py`): lip error × static face and lip-gap correlation. `context`:
    the Whisper context of the features, one the run trained on (None: its own); the summary's
    "context" says which."""
    config, predictor, step = open_run(workdir, checkpoint, seed, temperature)
    if context is not None:
        predictor.use_context(context)
    dataset = Dataset(config.data.dataset)
    names = dataset.names_in(split)
    if not names:
        raise TalkmeshError(f"{dataset.root}: no clips in split part {split!r}")
    layout = predictor.layout
    with_blendshapes = layout.num_blendshapes > 0 and dataset.has_blendshapes
    count = predictor.faces["close_mouth_face"].shape[0]
    weights = dataset_regions(dataset, count)
    regions = _regions(dataset, weights, count)
    rows, pooled = [], {"truth": [], "model": [], "valid": []}
    speech: dict = {"truth": [], "model": []}
    lively = Liveliness(regions["upper_face"], blinks=dataset.info.face != "mesh" and count >= 468)
    for name in tqdm(names, unit="clip", desc=f"eval {split}", disable=not show_progress):
        audio, landmarks, valid = dataset.load_clip(name)
        if not valid.any():
            continue
        predicted = predictor.predict_all(audio)
        if layout.num_landmarks:
            model = fit_length(predicted["landmarks"], len(valid))
            rows += _landmark_rows(
                name, landmarks[:, :count], valid, model, predictor.faces, regions
            )
            speech["truth"].append(landmarks[valid, :count])
            speech["model"].append(model[valid])
            lively.add(landmarks[:, :count], model, valid)
        if with_blendshapes:
            pooled["truth"].append(dataset.load_blendshapes(name))
            pooled["model"].append(fit_length(predicted["blendshapes"], len(valid)))
            pooled["valid"].append(valid)
    summary = {
        "run": str(workdir),
        "checkpoint_step": step,
        "split": split,
        "clips": len({r["clip"] for r in rows}) or len(pooled["valid"]),
        "valid_frames": int(sum(v.sum() for v in pooled["valid"]))
        or sum(r["valid_frames"] for r in rows if r["method"] == "model"),
        "context": predictor.context,
    }
    if rows:
        summary.update(
            {
                "units": "dataset units (cm for metric landmarks); lve_squared and MSEs squared",
                "metrics": {
                    m: _weighted_mean([r for r in rows if r["method"] == m]) for m in METHODS
                },
                "regions": {"lips": regions["lips"], "upper_face": regions["upper_face"]},
                "fdd_template": "close_mouth_face",
            }
        )
    if recorded and rows and _on_synthetic_face(dataset):
        summary["speech"] = _speech_section(predictor, speech, split, seed)
    if pooled["valid"]:
        summary["blendshapes"] = _blendshape_summary(pooled, dataset, predictor.mean_blendshapes)
    if not rows and not pooled["valid"]:
        raise TalkmeshError(f"{dataset.root}: no clip of split {split!r} has a valid frame")
    if rows:
        summary["liveliness"] = lively.summary()
    if hasattr(predictor.family, "reconstruct"):  # MeshTalk: what each input moves
        from talkmesh_jax.inference.disentanglement import code_usage, swap_effects

        summary["disentanglement"] = swap_effects(predictor, dataset, names, weights)
        summary["code_usage"] = code_usage(predictor, dataset, names, seed)
    summary["sampling"] = (
        {"seed": seed, "temperature": temperature} if predictor.family.samples else None
    )
    return summary, rows


def _on_synthetic_face(dataset: Dataset) -> bool:
    """Whether the recorded-speech faces (the synthetic face's rule) match the dataset's."""
    return dataset.info.face != "mesh" and dataset.info.source.startswith("talkmesh synth")


def _speech_section(predictor, split_frames: dict, split: str, seed: int) -> dict:
    """{"synthetic_<split>": scores, "recorded": {clips, seconds, condition: scores}} with
    `recorded_speech.speech_scores` (lve model / static mean face, lip-gap r)."""
    from talkmesh_jax.inference.recorded_speech import recorded_speech_metrics, speech_scores

    mean_face = predictor.faces["mean_face"]
    return {
        f"synthetic_{split}": speech_scores(
            split_frames["truth"], split_frames["model"], mean_face
        ),
        "recorded": recorded_speech_metrics(predictor, seed=seed),
    }


def format_speech(section: dict) -> list[str]:
    """The speech section as a table: one row per test set, lip error × static face, lip-gap r."""
    rows = [(name, scores) for name, scores in section.items() if name != "recorded"]
    recorded = section["recorded"]
    rows += [(f"recorded {c}", recorded[c]) for c in recorded if isinstance(recorded[c], dict)]
    lines = [f"  {'speech':<26}{'lip error (cm)':>16}{'× static face':>15}{'lip-gap r':>11}"]
    for name, scores in rows:
        r = scores["lip_gap_correlation"]
        lines.append(
            f"  {name.replace('_', ' '):<26}{scores['lve_model']:>16.4f}"
            f"{scores['lve_ratio']:>14.2f}×{'n/a' if r is None else f'{r:.2f}':>11}"
        )
    lines.append(f"  (recorded: {', '.join(recorded['clips'])}; {recorded['seconds']:.0f} s)")
    if "silence_vs_hiss_cm" in recorded:  # (summaries written before it have none)
        lines.append(
            f"  digital silence vs −60 dBFS hiss: the face moves up to "
            f"{recorded['silence_vs_hiss_cm']:.3f} cm"
        )
    return lines


def _blendshape_summary(pooled: dict, dataset: Dataset, mean: np.ndarray | None) -> dict:
    """Per-coefficient metrics over all valid frames of the split, model and mean baseline."""
    names = list(dataset.info.blendshape_names)
    truth, valid = np.concatenate(pooled["truth"]), np.concatenate(pooled["valid"])
    predictions = {"model": np.concatenate(pooled["model"])}
    if mean is not None:
        predictions["mean_blendshapes"] = np.broadcast_to(mean, truth.shape)
    section: dict = {"names": names, "mouth": list(MOUTH_BLENDSHAPES)}
    for method, prediction in predictions.items():
        per = blendshape_metrics(prediction, truth, valid, names)
        section[method] = {
            "mae_mean": float(np.mean([m["mae"] for m in per.values()])),
            "rmse_mean": float(np.mean([m["rmse"] for m in per.values()])),
            "per_coefficient": per,
        }
    model = section["model"]["per_coefficient"]
    section["jaw_open_correlation"] = (
        model["jawOpen"]["correlation"] if "jawOpen" in model else None
    )
    section["mouth_correlation"] = {
        n: model[n]["correlation"] for n in MOUTH_BLENDSHAPES if n in model
    }
    return section


def _weighted_mean(rows: list[dict]) -> dict[str, float]:
    weights = np.array([r["valid_frames"] for r in rows], float)
    keys = [k for k in rows[0] if k not in ("clip", "method", "valid_frames")]
    return {k: float(np.average([r[k] for r in rows], weights=weights)) for k in keys}


def write_results(summary: dict, rows: list[dict], json_path: Path, csv_path: Path) -> None:
    """The summary as JSON; per-clip landmark rows as CSV (when the model predicts landmarks)."""
    write_json(json_path, summary)
    if not rows:
        return
    with atomic_path(csv_path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def format_summary(summary: dict) -> str:
    lines = [
        f"{summary['run']} step {summary['checkpoint_step']}, {summary['split']}: "
        f"{summary['clips']} clips, {summary['valid_frames']} valid frames"
        + (f", Whisper context {summary['context']}" if summary.get("context") else ""),
    ]
    if "metrics" in summary:
        keys = list(summary["metrics"]["model"])
        lines.append(f"  {'':<18}" + "".join(f"{k:>18}" for k in keys))
        for method, metrics in summary["metrics"].items():
            lines.append(f"  {method:<18}" + "".join(f"{metrics[k]:>18.5f}" for k in keys))
    if "speech" in summary:
        lines += format_speech(summary["speech"])
    if "blendshapes" in summary:
        lines += _format_blendshapes(summary["blendshapes"])
    lines += _format_liveliness(summary.get("liveliness"), summary.get("code_usage"))
    swaps = summary.get("disentanglement")
    if swaps:
        for name, ratio in (
            ("audio_swap", "audio_swap_lips_over_upper"),
            ("expression_swap", "expression_swap_upper_over_lips"),
        ):
            moved = swaps[name]
            lines.append(
                f"  {name.replace('_', ' ')}: lips move {moved['lips']:.4f} cm, upper face "
                f"{moved['upper_face']:.4f} cm (ratio {swaps[ratio]:.1f})"
            )
    return "\n".join(lines)


def _format_blendshapes(section: dict) -> list[str]:
    def r(value: float | None) -> str:
        return "  n/a" if value is None else f"{value:5.2f}"

    lines = [f"  blendshapes ({len(section['names'])}): {'':<10}{'MAE':>10}{'RMSE':>10}"]
    for method in BLENDSHAPE_METHODS:
        if method in section:
            m = section[method]
            lines.append(f"    {method:<28}{m['mae_mean']:>10.4f}{m['rmse_mean']:>10.4f}")
    mouth = section["mouth_correlation"]
    moving = {n: c for n, c in mouth.items() if c is not None}
    lines.append(f"    jawOpen correlation with the truth: {r(section['jaw_open_correlation'])}")
    if moving:
        shown = ", ".join(f"{n} {r(c)}" for n, c in sorted(moving.items(), key=lambda x: -x[1])[:6])
        lines.append(f"    mouth coefficients (r): {shown}")
    return lines


def _format_liveliness(lively: dict | None, usage: dict | None) -> list[str]:
    lines = []
    if lively:
        motion = lively["upper_face_motion_cm"]
        ratio = f" ({motion['ratio']:.2f}×)" if motion["ratio"] is not None else ""
        line = (
            f"  upper-face motion: model {motion['model']:.4f} cm, data {motion['data']:.4f} cm"
            f"{ratio}"
        )
        blinks = lively.get("blinks_per_minute")
        if blinks:
            line += f"; blinks/min: model {blinks['model']:.1f}, data {blinks['data']:.1f}"
        lines.append(line)
    if usage:
        encoder, sampled = usage["encoder"], usage["sampled"]
        lines.append(
            f"  code usage: perplexity per head {encoder['perplexity']:.2f} (encoder), "
            f"{sampled['perplexity']:.2f} (sampled); expression swap changes "
            f"{100 * encoder['expression_share']:.1f} % of codes"
        )
    return lines
