"""The dataset directory: the original project's layout, plus a `dataset.json`.

    DATA/
      dataset.json             fps, sample rate, landmark count, layout, coordinate frame
      audios/<id>.npy          [S] float32, mono, 16 kHz
      landmarks/<id>.npy       [T, V, 3] (layout "tv3") or [T, 3, V] (layout "t3v", the original's)
                               float32, metric cm; invalid frames are zeros
      validity/<id>.npy        [T] bool, false where no face or more than one face was found
      image_landmarks/<id>.npy [T, V, 3] float32, MediaPipe's normalised image coordinates
                               (x, y in [0, 1] of the frame, z relative depth); written by extract
      blendshapes/<id>.npy     [T, 52] float32 in [0, 1], MediaPipe's ARKit-named coefficients in
                               the order of dataset.json's `blendshape_names`; zeros where invalid
      head_pose/<id>.npy       [T, 4, 4] float32, MediaPipe's facial transformation matrix
                               (canonical face → camera, cm); zeros where invalid
      videos/<id>.mp4          the video re-encoded at the dataset's fps; written by extract
      train_test_split.txt     "<id>.npy\t<train|valid|test>" per line
      mean_face.npy, close_mouth_face.npy   reference faces, same layout as the landmarks

A directory without `dataset.json` (the original project's data) is read with its defaults: 25 fps,
16 kHz, metric cm, the landmark count and layout taken from the first landmark file. Blendshapes
and head poses are optional: datasets made before them (or without dataset.json) load as before.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, SAMPLE_RATE, TalkmeshError
from talkmesh_jax.fileio import atomic_path, read_json, write_json

DATASET_FORMAT = "talkmesh-dataset"
LAYOUTS = ("tv3", "t3v")
CLIP_PARTS = ("audios", "landmarks", "validity")
OPTIONAL_PARTS = ("image_landmarks", "blendshapes", "head_pose", "videos")
SPLIT_FILE = "train_test_split.txt"
SPLIT_PARTS = ("train", "valid", "test")


@dataclass(frozen=True)
class DatasetInfo:
    """What `dataset.json` records."""

    fps: int = FPS
    sample_rate: int = SAMPLE_RATE
    num_landmarks: int = 478
    layout: str = "tv3"
    coordinate_frame: str = "metric_cm"
    source: str = ""
    blendshape_names: tuple[str, ...] = ()  # empty: the dataset has no blendshapes
    face: str = "landmarks"  # "landmarks" (MediaPipe, 468/478) | "mesh" (registered, any count)

    def to_json(self) -> dict:
        return {"format": DATASET_FORMAT, "version": 1, **asdict(self)}


def to_layout(landmarks: np.ndarray, layout: str) -> np.ndarray:
    """[T, V, 3] → the on-disk array of `layout` (a transposed view for "t3v")."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown landmark layout {layout!r} (one of {', '.join(LAYOUTS)})")
    return landmarks if layout == "tv3" else np.swapaxes(landmarks, -1, -2)


def from_layout(
    array: np.ndarray, path: Path | str = "landmarks", counts: tuple[int, ...] = (468, 478)
) -> np.ndarray:
    """An on-disk landmark array ([T, V, 3], [T, 3, V], [V, 3] or [3, V]) → [..., V, 3] float32;
    V one of `counts` (a mesh dataset's: its vertex count)."""
    if array.ndim in (2, 3) and array.shape[-1] == 3 and array.shape[-2] in counts:
        return np.asarray(array, np.float32)
    if array.ndim in (2, 3) and array.shape[-2] == 3 and array.shape[-1] in counts:
        return np.ascontiguousarray(np.swapaxes(array, -1, -2), np.float32)
    expected = "|".join(map(str, counts))
    raise TalkmeshError(
        f"{path}: landmark array of shape {array.shape}; "
        f"expected [T, {expected}, 3] or [T, 3, {expected}]"
    )


def _load(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise TalkmeshError(f"{path}: missing") from None
    except (OSError, ValueError) as err:
        raise TalkmeshError(f"{path}: cannot be read ({err})") from None


class Dataset:
    """A dataset directory (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise TalkmeshError(f"{self.root}: no such dataset directory")
        self.info = self._read_info()

    def _read_info(self) -> DatasetInfo:
        path = self.root / "dataset.json"
        if path.exists():
            meta = read_json(path)
            if not isinstance(meta, dict) or meta.get("format") != DATASET_FORMAT:
                raise TalkmeshError(f"{path}: not a {DATASET_FORMAT} file")
            fields = {k: meta[k] for k in DatasetInfo.__dataclass_fields__ if k in meta}
            fields["blendshape_names"] = tuple(fields.get("blendshape_names", ()))
            return DatasetInfo(**fields)
        names = self.clip_names()
        if not names:
            raise TalkmeshError(f"{self.root}: no clips (audios/, landmarks/, validity/ are empty)")
        first = _load(self.clip_path("landmarks", names[0]), mmap=True)
        layout = "t3v" if first.shape[-2] == 3 else "tv3"
        return DatasetInfo(num_landmarks=from_layout(first[:1]).shape[1], layout=layout)

    @property
    def vertex_counts(self) -> tuple[int, ...]:
        """The vertex counts a clip may have: MediaPipe's, or a mesh dataset's own."""
        return (self.info.num_landmarks,) if self.info.face == "mesh" else (468, 478)

    def clip_path(self, part: str, name: str) -> Path:
        suffix = ".mp4" if part == "videos" else ".npy"
        return self.root / part / f"{name}{suffix}"

    def clip_names(self) -> list[str]:
        """Sorted ids that have audio, landmarks and validity."""
        sets = [{p.stem for p in (self.root / part).glob("[!.]*.npy")} for part in CLIP_PARTS]
        return sorted(set.intersection(*sets))

    def load_clip(self, name: str, mmap: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(audio [S] float32, landmarks [T, V, 3] float32, valid [T] bool) of one clip."""
        audio = _load(self.clip_path("audios", name), mmap)
        landmarks_path = self.clip_path("landmarks", name)
        landmarks = from_layout(_load(landmarks_path, mmap), landmarks_path, self.vertex_counts)
        valid = _load(self.clip_path("validity", name), mmap)
        if audio.ndim != 1 or valid.ndim != 1 or len(valid) != len(landmarks):
            raise TalkmeshError(
                f"{self.root}/*/{name}.npy: audio {audio.shape}, landmarks {landmarks.shape} and "
                f"validity {valid.shape} do not fit together ([S], [T, V, 3], [T])"
            )
        return np.asarray(audio, np.float32), landmarks, np.asarray(valid, bool)

    @property
    def has_blendshapes(self) -> bool:
        """Whether dataset.json names blendshapes (clips may still lack the file)."""
        return bool(self.info.blendshape_names)

    def load_blendshapes(self, name: str, mmap: bool = False) -> np.ndarray:
        """[T, K] float32 blendshape coefficients of one clip (K = len(info.blendshape_names))."""
        path = self.clip_path("blendshapes", name)
        if not self.has_blendshapes:
            raise TalkmeshError(f"{self.root}/dataset.json: the dataset has no blendshapes")
        array = _load(path, mmap)
        if array.ndim != 2 or array.shape[1] != len(self.info.blendshape_names):
            raise TalkmeshError(
                f"{path}: shape {array.shape}, expected [T, {len(self.info.blendshape_names)}]"
            )
        return np.asarray(array, np.float32)

    def load_head_pose(self, name: str) -> np.ndarray:
        """[T, 4, 4] float32 facial transformation matrices of one clip."""
        return np.asarray(_load(self.clip_path("head_pose", name)), np.float32)

    def reference_face(self, name: str) -> np.ndarray:
        """`mean_face` or `close_mouth_face` of this dataset: [V, 3] float32."""
        path = self.root / f"{name}.npy"
        if not path.exists():
            raise TalkmeshError(f"{path}: missing (make it with `talkmesh reference {self.root}`)")
        return from_layout(_load(path), path, self.vertex_counts)

    def split(self) -> dict[str, str]:
        """id → train|valid|test from `train_test_split.txt`."""
        return read_split(self.root / SPLIT_FILE)

    def names_in(self, part: str | None) -> list[str]:
        """Clip ids of a split part (all clips when `part` is None), in sorted order."""
        names = self.clip_names()
        if part is None:
            return names
        if part not in SPLIT_PARTS:
            raise ValueError(f"unknown split part {part!r} (one of {', '.join(SPLIT_PARTS)})")
        split = self.split()
        return [n for n in names if split.get(n) == part]


def write_info(root: str | os.PathLike, info: DatasetInfo) -> None:
    """Writes `dataset.json`; an existing one must agree (one dataset, one layout). An existing
    dataset without blendshapes gains the names when clips with blendshapes are added."""
    path = Path(root) / "dataset.json"
    if path.exists():
        old = Dataset(root).info
        if (old.fps, old.sample_rate, old.layout) != (info.fps, info.sample_rate, info.layout):
            raise TalkmeshError(
                f"{path}: existing dataset has fps {old.fps}, {old.sample_rate} Hz, layout "
                f"{old.layout}; refusing to add clips with fps {info.fps}, {info.sample_rate} Hz, "
                f"layout {info.layout}"
            )
        names, old_names = info.blendshape_names, old.blendshape_names
        if names and old_names and tuple(names) != tuple(old_names):
            raise TalkmeshError(f"{path}: existing dataset has other blendshape names")
        if not names or old_names:
            return
        info = replace(old, blendshape_names=tuple(names))
    write_json(path, info.to_json())


def save_array(path: Path, array: np.ndarray) -> None:
    """np.save, atomically."""
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def save_clip(
    root: str | os.PathLike,
    name: str,
    audio: np.ndarray,
    landmarks: np.ndarray,
    valid: np.ndarray,
    layout: str = "tv3",
    image_landmarks: np.ndarray | None = None,
    blendshapes: np.ndarray | None = None,
    head_pose: np.ndarray | None = None,
) -> None:
    """Writes one clip (arrays as in `Dataset.load_clip`, blendshapes [T, K], head_pose
    [T, 4, 4]); landmarks are written last, so a clip whose landmark file exists is complete
    (each file is written atomically)."""
    root = Path(root)
    save_array(root / "audios" / f"{name}.npy", np.asarray(audio, np.float32))
    save_array(root / "validity" / f"{name}.npy", np.asarray(valid, bool))
    optional = {"image_landmarks": image_landmarks, "blendshapes": blendshapes}
    optional["head_pose"] = head_pose
    for part, array in optional.items():
        if array is not None:
            save_array(root / part / f"{name}.npy", np.asarray(array, np.float32))
    save_array(root / "landmarks" / f"{name}.npy", to_layout(landmarks.astype(np.float32), layout))


def remove_stale_temporaries(root: str | os.PathLike) -> int:
    """Deletes temporary files left by a killed writer (`.<name>.<random><suffix>`)."""
    removed = 0
    for part in (*CLIP_PARTS, *OPTIONAL_PARTS):
        for path in (Path(root) / part).glob(".*"):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def read_split(path: str | os.PathLike) -> dict[str, str]:
    """`"<id>.npy\t<part>"` lines → {id: part}; a bad line is a TalkmeshError naming it."""
    path = Path(path)
    if not path.is_file():
        raise TalkmeshError(f"{path}: missing (make one with `talkmesh split`)")
    split = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        name, _, part = line.strip().partition("\t")
        if part not in SPLIT_PARTS:
            raise TalkmeshError(f"{path}:{number}: expected '<id>.npy<TAB>train|valid|test'")
        split[name.removesuffix(".npy")] = part
    return split


def make_split(
    names: list[str], valid_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> dict[str, str]:
    """A random split by clip (video): ids shuffled with `seed`, then cut by the fractions."""
    if not (0 <= valid_fraction and 0 <= test_fraction and valid_fraction + test_fraction < 1):
        raise ValueError("valid and test fractions must be ≥ 0 and sum to less than 1")
    order = np.random.default_rng(seed).permutation(len(names))
    num_valid = round(valid_fraction * len(names))
    num_test = round(test_fraction * len(names))
    parts = ["valid"] * num_valid + ["test"] * num_test
    parts += ["train"] * (len(names) - len(parts))
    return {names[i]: part for i, part in zip(order, parts, strict=True)}


def write_split(path: str | os.PathLike, split: dict[str, str]) -> None:
    """Writes `train_test_split.txt` in the original's format, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{name}.npy\t{part}\n" for name, part in sorted(split.items())))


def template_triangles(root: Path) -> np.ndarray | None:
    """[F, 3] int32 triangles of a mesh dataset's template.obj (its `f` lines), or None."""
    template = root / "template.obj"
    if not template.exists():
        return None
    from talkmesh_jax.wavefront import read_obj

    return read_obj(template)[1]
