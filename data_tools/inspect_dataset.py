"""What a person looks at first: counts, hours, validity per clip, the mean face, mouth opening,
and a few blendshape curves when the dataset has blendshapes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax.data.dataset import Dataset, read_split
from talkmesh_jax.facemesh import lip_rings
from talkmesh_jax.fileio import atomic_path

UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14  # MediaPipe's inner-lip midpoints
CURVES = ("jawOpen", "mouthSmileLeft", "mouthPucker", "eyeBlinkLeft", "browInnerUp")
CURVE_SECONDS = 20.0  # of the first clip, in the picture


def blendshape_curves(dataset: Dataset) -> dict | None:
    """The first CURVE_SECONDS of a few blendshapes ({clip, fps, names, values [K][T]}) of the first
    clip that has them; None for a dataset without blendshapes."""
    if not dataset.has_blendshapes:
        return None
    names = [n for n in CURVES if n in dataset.info.blendshape_names]
    for clip in dataset.clip_names():
        if dataset.clip_path("blendshapes", clip).exists():
            values = dataset.load_blendshapes(clip, mmap=True)
            values = values[: int(CURVE_SECONDS * dataset.info.fps)]
            columns = [dataset.info.blendshape_names.index(n) for n in names]
            curves = np.asarray(values[:, columns]).T
            return {
                "clip": clip,
                "fps": dataset.info.fps,
                "names": names,
                "values": curves.tolist(),
            }
    return None


def dataset_stats(dataset: Dataset, show_progress: bool = True) -> dict:
    """Per clip: frames, seconds, valid fraction, split part, mouth opening (cm) of valid frames."""
    split_path = dataset.root / "train_test_split.txt"
    split = read_split(split_path) if split_path.exists() else {}
    clips, openings = [], []
    for name in tqdm(dataset.clip_names(), unit="clip", desc="inspect", disable=not show_progress):
        audio, landmarks, valid = dataset.load_clip(name, mmap=True)
        lips = np.asarray(landmarks[:, [UPPER_INNER_LIP, LOWER_INNER_LIP]])[valid]
        openings.append(np.linalg.norm(lips[:, 0] - lips[:, 1], axis=-1))
        clips.append(
            {
                "name": name,
                "frames": len(valid),
                "seconds": len(audio) / dataset.info.sample_rate,
                "valid_fraction": float(valid.mean()) if len(valid) else 0.0,
                "split": split.get(name, ""),
            }
        )
    frames = sum(c["frames"] for c in clips)
    valid_frames = sum(c["frames"] * c["valid_fraction"] for c in clips)
    return {
        "root": str(dataset.root),
        "info": dataset.info.to_json(),
        "clips": len(clips),
        "frames": frames,
        "hours": sum(c["seconds"] for c in clips) / 3600,
        "valid_fraction": valid_frames / frames if frames else 0.0,
        "split_counts": {
            p: sum(c["split"] == p for c in clips) for p in ("train", "valid", "test")
        },
        "per_clip": clips,
        "mouth_opening_cm": np.concatenate(openings).tolist() if openings else [],
        "blendshape_curves": blendshape_curves(dataset),
    }


def format_stats(stats: dict) -> str:
    """A readable report: the totals, then one line per clip."""
    info = stats["info"]
    lines = [
        f"{stats['root']}: {stats['clips']} clips, {stats['frames']} frames, "
        f"{stats['hours']:.3f} h, {100 * stats['valid_fraction']:.1f} % valid frames",
        f"  {info['num_landmarks']} landmarks, layout {info['layout']}, {info['fps']} fps, "
        f"{info['sample_rate']} Hz, {info['coordinate_frame']}",
        "  split: " + ", ".join(f"{k} {v}" for k, v in stats["split_counts"].items()),
        f"  blendshapes: {len(info.get('blendshape_names', []))}",
        f"  {'clip':<24} {'frames':>7} {'seconds':>8} {'valid %':>8}  split",
    ]
    for clip in stats["per_clip"]:
        lines.append(
            f"  {clip['name']:<24} {clip['frames']:>7} {clip['seconds']:>8.1f} "
            f"{100 * clip['valid_fraction']:>8.1f}  {clip['split']}"
        )
    return "\n".join(lines)


def _mean_face(dataset: Dataset) -> np.ndarray:
    """The dataset's mean_face.npy, or the mean of its valid frames when there is none."""
    if (dataset.root / "mean_face.npy").exists():
        return dataset.reference_face("mean_face")
    from talkmesh_jax.data_tools.reference_faces import reference_faces

    names = dataset.clip_names()
    return reference_faces(dataset, names, close_frames=1, show_progress=False)["mean_face"]


def _plot_curves(ax, curves: dict) -> None:
    for name, values in zip(curves["names"], curves["values"], strict=True):
        ax.plot(np.arange(len(values)) / curves["fps"], values, lw=1, label=name)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("s")
    ax.set_ylabel("coefficient")
    ax.set_title(f"blendshapes of {curves['clip']}")
    ax.legend(loc="upper right", fontsize=8, ncols=len(curves["names"]))


def write_picture(dataset: Dataset, stats: dict, path: str | os.PathLike) -> Path:
    """PNG: the mean face from the front and the side, a histogram of mouth opening and, with
    blendshapes, a few blendshape curves of one clip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    face = _mean_face(dataset)
    outer, inner = lip_rings()
    curves = stats.get("blendshape_curves")
    mosaic = [["front", "side", "hist"]] + ([["curves"] * 3] if curves else [])
    figure, named = plt.subplot_mosaic(mosaic, figsize=(13, 8.5 if curves else 4.5))
    axes = [named["front"], named["side"], named["hist"]]
    views = ((0, 1, "front (x, y)"), (2, 1, "side (z, y)"))
    for ax, (a, b, title) in zip(axes[:2], views, strict=True):
        ax.scatter(face[:, a], face[:, b], s=2, c="0.4")
        for ring, colour in ((outer, "tab:red"), (inner, "tab:orange")):
            closed = [*ring, ring[0]]
            ax.plot(face[closed, a], face[closed, b], c=colour, lw=1)
        ax.set_aspect("equal")
        ax.set_title(f"mean face, {title}, cm")
    openings = np.asarray(stats["mouth_opening_cm"])
    axes[2].hist(openings, bins=60, color="tab:blue")
    axes[2].set_xlabel("inner-lip opening (landmarks 13–14), cm")
    axes[2].set_ylabel("valid frames")
    axes[2].set_title(f"mouth opening, median {np.median(openings) if openings.size else 0:.2f} cm")
    if curves:
        _plot_curves(named["curves"], curves)
    figure.suptitle(f"{dataset.root.name}: {stats['clips']} clips, {stats['hours']:.2f} h")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
    return Path(path)
