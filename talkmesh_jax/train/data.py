"""Training data of a run: packed train/valid parts of a dataset, the reference faces."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ml_collections
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.data.packed import PackedClips, load_packed
from talkmesh_jax.data.packing import pack_dataset
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from talkmesh_jax.fileio import atomic_path

REFERENCE_FOR_OUTPUT = {"disp_close": "close_mouth_face", "disp_mean": "mean_face", "pos": None}


def target_reference(faces: dict[str, np.ndarray], output_type: str) -> np.ndarray:
    """[V, 3] face the model's targets are measured from: close-mouth, mean, or zeros (`pos`)."""
    kind = REFERENCE_FOR_OUTPUT[output_type]
    return faces[kind] if kind else np.zeros_like(faces["mean_face"])


@dataclass
class RunData:
    train: PackedClips
    valid: PackedClips | None
    faces: dict[str, np.ndarray]  # mean_face, close_mouth_face: [V, 3]
    reference: np.ndarray  # [V, 3], what targets are measured from (zeros for "pos")


def packed_part(dataset: Dataset, part: str, num_landmarks: int) -> PackedClips | None:
    """The packed clips of a split part, cached in DATA/packed/<part>-<V> and repacked when the
    dataset's clips of that part changed. None if the part has no clips."""
    names = dataset.names_in(part)
    if not names:
        return None
    directory = dataset.root / "packed" / f"{part}-{num_landmarks}"
    if directory.exists():
        cached = load_packed(directory)
        same_parts = cached.blendshape_names == dataset.info.blendshape_names
        if cached.names == names and cached.num_vertices == num_landmarks and same_parts:
            return cached
    pack_dataset(dataset, directory, part, num_landmarks, overwrite=True, show_progress=False)
    return load_packed(directory)


def reference_faces(dataset: Dataset, num_landmarks: int) -> dict[str, np.ndarray]:
    """The dataset's reference faces, or, if it has none, those of its train clips."""
    names = ("mean_face", "close_mouth_face")
    if all((dataset.root / f"{n}.npy").exists() for n in names):
        faces = {n: dataset.reference_face(n) for n in names}
    else:
        from talkmesh_jax.data_tools.reference_faces import reference_faces as compute

        faces = compute(dataset, dataset.names_in("train"), show_progress=False)
    return {n: f[:num_landmarks].astype(np.float32) for n, f in faces.items()}


def mean_blendshapes(train: PackedClips) -> np.ndarray | None:
    """[K] float32 mean blendshapes of the valid training frames (the eval baseline), or None."""
    if train.blendshapes is None:
        return None
    valid = np.asarray(train.valid, bool)
    return np.asarray(train.blendshapes, np.float64)[valid].mean(0).astype(np.float32)


def _check_blendshapes(config: ml_collections.ConfigDict, dataset: Dataset, train) -> None:
    if "blendshapes" not in config.model.targets:
        return
    if train.blendshapes is None:
        raise TalkmeshError(
            f"{dataset.root}: model.targets={config.model.targets} but the dataset's train clips "
            "have no blendshapes (re-run talkmesh extract, or set model.targets=landmarks)"
        )
    if len(train.blendshape_names) != int(config.model.num_blendshapes):
        raise TalkmeshError(
            f"{dataset.root}: has {len(train.blendshape_names)} blendshapes, model.num_blendshapes "
            f"is {config.model.num_blendshapes}"
        )


def prepare(config: ml_collections.ConfigDict, workdir: Path) -> RunData:
    """Packs (or reuses) train and valid, saves the reference faces (and the train clips' mean
    blendshapes, when they have them) into RUN/reference/."""
    if not config.data.dataset:
        raise TalkmeshError("no dataset: pass --data DIR (or set data.dataset in the config)")
    dataset = Dataset(config.data.dataset)
    count = int(config.model.num_landmarks)
    if count > dataset.info.num_landmarks:
        raise TalkmeshError(
            f"{dataset.root}: has {dataset.info.num_landmarks} landmarks, model wants {count}"
        )
    train = packed_part(dataset, "train", count)
    if train is None:
        raise TalkmeshError(f"{dataset.root}: no train clips (run talkmesh split)")
    _check_blendshapes(config, dataset, train)
    faces = reference_faces(dataset, count)
    saved = dict(faces)
    if train.blendshapes is not None:
        saved["mean_blendshapes"] = mean_blendshapes(train)
    for name, array in saved.items():
        with atomic_path(workdir / "reference" / f"{name}.npy") as tmp:
            np.save(tmp, array)
    reference = target_reference(faces, config.model.output_type)
    return RunData(train, packed_part(dataset, "valid", count), faces, reference)


def window_spec(config: ml_collections.ConfigDict, batch_size: int, train: bool) -> WindowSpec:
    data = config.data
    return WindowSpec(
        window_frames=int(data.window_frames),
        stride_frames=int(data.stride_frames if train else data.window_frames),
        batch_size=batch_size,
        min_valid_fraction=float(data.min_valid_fraction),
        jitter=bool(data.jitter) and train,
        shuffle=train,
        drop_remainder=train,
        seed=int(config.train.seed),
    )


def validation_batches(config, valid: PackedClips | None) -> list[dict]:
    """Fixed validation windows (up to eval.max_windows), as host batches."""
    if valid is None:
        return []
    batch_size = int(config.eval.batch_size)
    batcher = create_batcher(valid, window_spec(config, batch_size, train=False))
    batches, windows = [], 0
    for index in range(batcher.num_batches(0)):
        if windows >= int(config.eval.max_windows):
            break
        batches.append(batcher.get_batch(0, index))
        windows += batch_size
    return batches
