"""Training data of a run: packed train/valid parts of a dataset, the reference faces."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ml_collections
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.dataset import Dataset, template_triangles
from talkmesh_jax.data.packed import PackedClips, load_packed
from talkmesh_jax.data.packing import pack_dataset
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from talkmesh_jax.fileio import atomic_path, read_json, write_json
from talkmesh_jax.regions import dataset_regions
from talkmesh_jax.run_dir import RunDir
from talkmesh_jax.targets import target_reference


@dataclass
class RunData:
    train: PackedClips
    valid: PackedClips | None
    faces: dict[str, np.ndarray]  # mean_face, close_mouth_face: [V, 3]
    reference: np.ndarray  # [V, 3], what targets are measured from (zeros for "pos")
    regions: dict[str, np.ndarray]  # {mouth, lips, upper_face, eyelids: [V] float32 weights}


def source_stamps(dataset: Dataset, names: list[str]) -> list:
    """(size, mtime_ns) of every source file of the clips: what the packed cache was made from."""
    stamps = []
    for name in names:
        for part in ("audios", "landmarks", "validity", "blendshapes"):
            path = dataset.clip_path(part, name)
            stat = path.stat() if path.exists() else None
            stamps.append([stat.st_size, stat.st_mtime_ns] if stat else None)
    return stamps


def packed_part(dataset: Dataset, part: str, num_landmarks: int) -> PackedClips | None:
    """The packed clips of a split part, cached in DATA/packed/<part>-<V> and repacked when the
    part's clips or any of their files changed (size or modification time). None if the part has
    no clips."""
    names = dataset.names_in(part)
    if not names:
        return None
    directory = dataset.root / "packed" / f"{part}-{num_landmarks}"
    stamps_path = directory / "sources.json"
    stamps = source_stamps(dataset, names)
    if directory.exists() and stamps_path.exists():
        cached = load_packed(directory)
        same_parts = cached.blendshape_names == dataset.info.blendshape_names
        same_files = read_json(stamps_path) == stamps
        if cached.names == names and cached.num_vertices == num_landmarks and same_parts:
            if same_files:
                return cached
    pack_dataset(dataset, directory, part, num_landmarks, overwrite=True, show_progress=False)
    write_json(stamps_path, stamps)
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
            f"{dataset.root}: model.targets={config.model.targets} but not every train clip has "
            "blendshapes/<id>.npy (re-run talkmesh extract, or set model.targets=landmarks)"
        )


def resolve_with_dataset(config: ml_collections.ConfigDict) -> Dataset:
    """Checks the config against its dataset before anything is written: an unset
    model.num_landmarks becomes the dataset's; a count the dataset cannot give (landmarks,
    blendshapes) is a one-line error naming both and the override."""
    if not config.data.dataset:
        raise TalkmeshError("no dataset: pass --data DIR (or set data.dataset in the config)")
    dataset = Dataset(config.data.dataset)
    have, want = dataset.info.num_landmarks, config.model.num_landmarks
    if want is None:
        config.model.num_landmarks = have
    elif int(want) > have:
        raise TalkmeshError(
            f"{dataset.root}: has {have} landmarks per frame, model.num_landmarks is {want}; set "
            f"model.num_landmarks={have} (or leave it unset to take the dataset's)"
        )
    if "blendshapes" in config.model.targets:
        names = dataset.info.blendshape_names
        if not names:
            raise TalkmeshError(
                f"{dataset.root}: model.targets={config.model.targets} but the dataset has no "
                "blendshapes (re-run talkmesh extract, or set model.targets=landmarks)"
            )
        if len(names) != int(config.model.num_blendshapes):
            raise TalkmeshError(
                f"{dataset.root}: has {len(names)} blendshapes, model.num_blendshapes is "
                f"{config.model.num_blendshapes}; set model.num_blendshapes={len(names)}"
            )
    return dataset


def prepare(
    config: ml_collections.ConfigDict,
    dataset: Dataset,
    workdir: Path,
    resuming: bool = False,
    force: bool = False,
) -> RunData:
    """Packs (or reuses) train and valid of `dataset` (from `resolve_with_dataset`). At the first
    start: saves the reference faces (and the train clips' mean blendshapes, when they have them)
    into RUN/reference/ and the data's fingerprint; on resume: refuses data that differs from the
    start (unless `force`) and uses the run's own reference faces."""
    from talkmesh_jax.train import fingerprint

    count = int(config.model.num_landmarks)
    train = packed_part(dataset, "train", count)
    if train is None:
        raise TalkmeshError(f"{dataset.root}: no train clips (run talkmesh split)")
    _check_blendshapes(config, dataset, train)
    valid = packed_part(dataset, "valid", count)
    faces = reference_faces(dataset, count)
    now = fingerprint.fingerprint(dataset.root, {"train": train, "valid": valid}, faces)
    fingerprint.check_or_save(workdir, now, resuming, force)
    run = RunDir(workdir)
    saved_faces = run.reference("mean_face")
    if resuming and saved_faces.exists():
        faces = {n: np.load(run.reference(n)) for n in faces}
    else:
        saved = dict(faces)
        if train.blendshapes is not None:
            saved["mean_blendshapes"] = mean_blendshapes(train)
        triangles = template_triangles(dataset.root)
        if triangles is not None:
            saved["triangles"] = triangles  # export draws meshes with them
        for name, array in saved.items():
            with atomic_path(run.reference(name)) as tmp:
                np.save(tmp, array)
    reference = target_reference(faces, config.model.output_type)
    regions = dataset_regions(dataset, count)
    return RunData(train, valid, faces, reference, regions)


def window_spec(config: ml_collections.ConfigDict, batch_size: int, train: bool) -> WindowSpec:
    data = config.data
    return WindowSpec(
        window_frames=int(data.window_frames),
        stride_frames=int(data.stride_frames if train else data.window_frames),
        batch_size=batch_size,
        min_valid_fraction=float(data.min_valid_fraction),
        jitter=bool(data.jitter) and train,
        shuffle=True,  # validation too: its first windows are a sample of every clip, fixed seed
        drop_remainder=train,
        seed=int(config.train.seed),
    )


def augment_spec(config: ml_collections.ConfigDict):
    """The run's `AugmentSpec` (config.data.augment; copies 0 when the section is absent)."""
    from talkmesh_jax.config import config_to_dict
    from talkmesh_jax.data.augment import AugmentSpec

    section = config.data.get("augment")
    return AugmentSpec.from_config(config_to_dict(section) if section is not None else {})


def augmented_copies(
    config: ml_collections.ConfigDict, train: PackedClips, show_progress: bool
) -> list[np.ndarray]:
    """The augmented copies of the train clips' audio (config.data.augment.copies of them, each
    packed like train.audio, [S] float32); [] when augmentation is off."""
    from tqdm import tqdm

    from talkmesh_jax.data.augment import augmented_audio

    spec = augment_spec(config)
    copies = range(1, spec.copies + 1)
    bar = tqdm(
        copies, unit="copy", desc="augmenting audio", disable=not show_progress or not spec.copies
    )
    return [augmented_audio(train.audio, train.audio_offsets, train.names, spec, k) for k in bar]


def whisper_features(
    config: ml_collections.ConfigDict,
    family,
    variables,
    data: RunData,
    show_progress: bool,
    copies: list[np.ndarray] = (),
) -> dict:
    """{"train", "valid": per-frame Whisper features [F, 2·D] float16 or None, "train_copies":
    the same of each augmented copy of the train audio in `copies`, then of the clean audio and
    every copy in each extra context (`model.audio_encoder.extra_contexts`)} when the model's
    Whisper features are computed before the model (contexts 'chunked', 'trailing'): encoded
    once with the run's encoder (`variables`' audio_encoder), from DATA/features/ when already
    there. Training rows draw from the train features and the copies alike."""
    encoder = family.audio_encoder_config
    if encoder is None or not encoder.inputs_are_features:
        return {"train": None, "valid": None, "train_copies": []}
    from talkmesh_jax.data.feature_cache import FeatureCache
    from talkmesh_jax.whisper.features import feature_encoders

    caches = {
        context: FeatureCache(config.data.dataset, features, encoder.dtype)
        for context, features in feature_encoders(encoder, variables).items()
    }
    cache = caches[encoder.context]
    out = {
        part: None if clips is None else cache.features(clips, show_progress)
        for part, clips in (("train", data.train), ("valid", data.valid))
    }
    out["train_copies"] = [
        cache.features(data.train, show_progress, audio, f"Whisper features, copy {k}")
        for k, audio in enumerate(copies, start=1)
    ]
    for context in encoder.extra_contexts:
        for k, audio in enumerate([None, *copies]):
            copy = f", copy {k}" if k else ""
            desc = f"Whisper features ({context}{copy})"
            out["train_copies"].append(
                caches[context].features(data.train, show_progress, audio, desc)
            )
    return out


def validation_batches(
    config, valid: PackedClips | None, features: np.ndarray | None = None
) -> list[dict]:
    """Fixed validation windows (up to eval.max_windows, drawn across all validation clips with
    the run's seed), as host batches (with Whisper `features` instead of audio when given)."""
    if valid is None:
        return []
    batch_size = int(config.eval.batch_size)
    try:
        spec = window_spec(config, batch_size, train=False)
        batcher = create_batcher(valid, spec, features=features)
    except ValueError as err:
        raise TalkmeshError(f"validation split of {config.data.dataset}: {err}") from None
    if batcher.num_windows(0) == 0:
        raise TalkmeshError(
            f"validation split of {config.data.dataset}: no clip gives a window of "
            f"{config.data.window_frames} frames with {config.data.min_valid_fraction:.0%} valid "
            "(longer clips, a smaller data.window_frames, or no valid part)"
        )
    batches, windows = [], 0
    for index in range(batcher.num_batches(0)):
        if windows >= int(config.eval.max_windows):
            break
        batches.append(batcher.get_batch(0, index))
        windows += batch_size
    return batches
