"""The packed dataset: all clips concatenated into memory-mappable `.npy` files.

A packed directory holds
    audio.npy          [S] float32, mono, 16 kHz
    audio_offsets.npy  [C + 1] int64, clip c's samples are audio[off[c]:off[c+1]]
    landmarks.npy      [F, V, 3] float32 (the dataset's coordinate frame, e.g. metric cm)
    frame_offsets.npy  [C + 1] int64, clip c's frames are landmarks[off[c]:off[c+1]]
    valid.npy          [F] bool, per-frame validity
    blendshapes.npy    [F, K] float32, optional: per-frame blendshape coefficients
    pack.json          names of the clips, fps, sample rate, landmark count, coordinate frame,
                       blendshape names (empty without blendshapes)
and is what the C++ batcher reads, zero-copy, through `np.load(..., mmap_mode="r")`. Blendshapes
are not read by the C++ code: `windows.create_batcher` gathers them per batch row in numpy.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, SAMPLE_RATE, TalkmeshError
from talkmesh_jax.fileio import read_json

PACK_FORMAT = "talkmesh-packed"
PACK_VERSION = 1
_ARRAYS = ("audio", "audio_offsets", "landmarks", "frame_offsets", "valid")


@dataclass(frozen=True)
class PackedClips:
    """Concatenated clips; arrays may be `np.memmap`s (see module docstring for shapes)."""

    audio: np.ndarray
    audio_offsets: np.ndarray
    landmarks: np.ndarray
    frame_offsets: np.ndarray
    valid: np.ndarray
    names: list[str] = field(default_factory=list)
    fps: int = FPS
    sample_rate: int = SAMPLE_RATE
    coordinate_frame: str = "unknown"
    blendshapes: np.ndarray | None = None  # [F, K] float32
    blendshape_names: tuple[str, ...] = ()

    @property
    def num_clips(self) -> int:
        return len(self.frame_offsets) - 1

    @property
    def num_vertices(self) -> int:
        return int(self.landmarks.shape[1])

    @property
    def num_frames(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def nbytes(self) -> int:
        extra = 0 if self.blendshapes is None else int(self.blendshapes.nbytes)
        return sum(int(getattr(self, name).nbytes) for name in _ARRAYS) + extra

    def clip_frames(self, clip: int) -> np.ndarray:
        """[T, V, 3] landmarks of one clip (a view)."""
        return self.landmarks[self.frame_offsets[clip] : self.frame_offsets[clip + 1]]


def concatenate_clips(
    audios: Iterable[np.ndarray],
    landmarks: Iterable[np.ndarray],
    valids: Iterable[np.ndarray],
    names: list[str] | None = None,
    **metadata: object,
) -> PackedClips:
    """In-memory `PackedClips` from per-clip arrays ([S_c] audio, [T_c, V, 3], [T_c] bool)."""
    audios, landmarks, valids = list(audios), list(landmarks), list(valids)
    if not (len(audios) == len(landmarks) == len(valids)) or not audios:
        raise ValueError("need the same, non-zero number of audio, landmark and validity arrays")
    return PackedClips(
        audio=np.concatenate([np.asarray(a, np.float32) for a in audios]),
        audio_offsets=_offsets([len(a) for a in audios]),
        landmarks=np.concatenate([np.asarray(x, np.float32) for x in landmarks]),
        frame_offsets=_offsets([len(x) for x in landmarks]),
        valid=np.concatenate([np.asarray(v, bool) for v in valids]),
        names=list(names) if names is not None else [f"clip{i:05d}" for i in range(len(audios))],
        **metadata,
    )


def _offsets(lengths: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def write_packed(clips: PackedClips, directory: str | os.PathLike, overwrite: bool = False) -> Path:
    """Writes in-memory `clips` to `directory` atomically (a temporary sibling, then a rename)."""
    arrays = {name: getattr(clips, name) for name in _ARRAYS}
    if clips.blendshapes is not None:
        arrays["blendshapes"] = clips.blendshapes
    with _packed_directory(directory, overwrite, clips.names, clips) as tmp:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array))
    return Path(directory)


def write_packed_streaming(
    directory: str | os.PathLike,
    names: list[str],
    audio_lengths: list[int],
    frame_counts: list[int],
    num_vertices: int,
    load_clip: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]],
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    **metadata: object,
) -> Path:
    """Packs clips one at a time into memory-mapped files, so datasets larger than RAM pack.

    `load_clip(i)` returns clip i's (audio [S_i], landmarks [T_i, V, 3], valid [T_i]) with the
    lengths given, plus blendshapes [T_i, K] when `blendshape_names` (in `metadata`) is not
    empty; `progress(frames)` is called after each clip. Atomic like `write_packed`.
    """
    blendshape_names = tuple(metadata.get("blendshape_names", ()))
    audio_offsets, frame_offsets = _offsets(audio_lengths), _offsets(frame_counts)
    info = PackedClips(
        audio=np.zeros(0, np.float32),
        audio_offsets=audio_offsets,
        landmarks=np.zeros((0, num_vertices, 3), np.float32),
        frame_offsets=frame_offsets,
        valid=np.zeros(0, bool),
        names=names,
        **metadata,
    )
    with _packed_directory(directory, overwrite, names, info) as tmp:
        np.save(tmp / "audio_offsets.npy", audio_offsets)
        np.save(tmp / "frame_offsets.npy", frame_offsets)
        open_memmap = np.lib.format.open_memmap
        audio = open_memmap(tmp / "audio.npy", "w+", np.float32, (int(audio_offsets[-1]),))
        shape = (int(frame_offsets[-1]), num_vertices, 3)
        landmarks = open_memmap(tmp / "landmarks.npy", "w+", np.float32, shape)
        valid = open_memmap(tmp / "valid.npy", "w+", bool, (int(frame_offsets[-1]),))
        outputs = [audio, landmarks, valid]
        if blendshape_names:
            shape = (int(frame_offsets[-1]), len(blendshape_names))
            outputs.append(open_memmap(tmp / "blendshapes.npy", "w+", np.float32, shape))
        for i in range(len(names)):
            clip = load_clip(i)
            for output, offsets, values in zip(
                outputs, (audio_offsets, *[frame_offsets] * (len(outputs) - 1)), clip, strict=True
            ):
                output[offsets[i] : offsets[i + 1]] = values
            if progress is not None:
                progress(len(clip[2]))
        for array in outputs:
            array.flush()
        del audio, landmarks, valid, outputs
    return Path(directory)


@contextmanager
def _packed_directory(
    directory: str | os.PathLike, overwrite: bool, names: list[str], clips: PackedClips
) -> Iterator[Path]:
    """A temporary sibling directory to fill; it gets pack.json and replaces `directory`."""
    target = Path(directory)
    if target.exists() and not overwrite:
        raise TalkmeshError(f"{target}: already exists (pass overwrite=True to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        meta = {
            "format": PACK_FORMAT,
            "version": PACK_VERSION,
            "names": list(names),
            "fps": clips.fps,
            "sample_rate": clips.sample_rate,
            "num_landmarks": clips.num_vertices,
            "coordinate_frame": clips.coordinate_frame,
            "blendshape_names": list(clips.blendshape_names),
        }
        (tmp / "pack.json").write_text(json.dumps(meta, indent=1))
        _replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_directory(new: Path, target: Path) -> None:
    """Puts `new` at `target`; an existing `target` is moved aside first and removed after."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old)


def load_packed(directory: str | os.PathLike, mmap: bool = True) -> PackedClips:
    """Opens a packed directory; with `mmap` the arrays are read-only `np.memmap`s."""
    root = Path(directory)
    meta_path = root / "pack.json"
    meta = read_json(meta_path, "not a packed dataset directory")
    if meta.get("format") != PACK_FORMAT or meta.get("version") != PACK_VERSION:
        raise TalkmeshError(f"{meta_path}: not a {PACK_FORMAT} v{PACK_VERSION} file")
    arrays = {}
    for name in _ARRAYS:
        path = root / f"{name}.npy"
        try:
            arrays[name] = np.load(path, mmap_mode="r" if mmap else None)
        except (OSError, ValueError) as err:
            raise TalkmeshError(f"{path}: cannot be read ({err})") from None
    blendshape_names = tuple(meta.get("blendshape_names", ()))
    blendshapes = None
    if blendshape_names:
        path = root / "blendshapes.npy"
        try:
            blendshapes = np.load(path, mmap_mode="r" if mmap else None)
        except (OSError, ValueError) as err:
            raise TalkmeshError(f"{path}: cannot be read ({err})") from None
        if blendshapes.shape != (len(arrays["valid"]), len(blendshape_names)):
            raise TalkmeshError(f"{path}: shape {blendshapes.shape} does not fit pack.json")
    return PackedClips(
        **arrays,
        names=list(meta["names"]),
        fps=int(meta["fps"]),
        sample_rate=int(meta["sample_rate"]),
        coordinate_frame=str(meta.get("coordinate_frame", "unknown")),
        blendshapes=blendshapes,
        blendshape_names=blendshape_names,
    )
