"""What a run was trained on, so that a resume cannot silently train on something else.

RUN/data_fingerprint.json, written at a run's first start: the dataset folder, per split part the
clip names and frame counts, a BLAKE2b hash of every packed array (train and valid), and the hash
of the dataset's reference faces (the run keeps its own copy in RUN/reference/). A resume compares
the fingerprint of the data it would use now; any difference is refused with the reason, unless
forced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.packed import PackedClips
from talkmesh_jax.fileio import read_json, write_json
from talkmesh_jax.run_dir import RunDir

CHUNK = 1 << 24  # bytes hashed at a time


def array_hash(array: np.ndarray) -> str:
    """BLAKE2b of an array's shape, dtype and bytes (memory-mapped arrays are read in chunks)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{array.shape}{array.dtype}".encode())
    flat = np.asarray(array).reshape(-1).view(np.uint8)
    for start in range(0, len(flat), CHUNK):
        digest.update(flat[start : start + CHUNK])
    return digest.hexdigest()


def part_fingerprint(clips: PackedClips | None) -> dict | None:
    if clips is None:
        return None
    frames = np.diff(clips.frame_offsets).tolist()
    arrays = {"audio": clips.audio, "landmarks": clips.landmarks, "valid": clips.valid}
    if clips.blendshapes is not None:
        arrays["blendshapes"] = clips.blendshapes
    return {
        "clips": dict(zip(clips.names, frames, strict=True)),
        "hashes": {name: array_hash(array) for name, array in arrays.items()},
    }


def fingerprint(dataset: str, parts: dict[str, PackedClips | None], faces: dict) -> dict:
    return {
        "dataset": str(dataset),
        "parts": {name: part_fingerprint(clips) for name, clips in parts.items()},
        "reference_faces": {name: array_hash(face) for name, face in sorted(faces.items())},
    }


def _difference(saved: dict, now: dict) -> str | None:
    """The first difference, in words, or None."""
    for name in sorted(set(saved["parts"]) | set(now["parts"])):
        old, new = saved["parts"].get(name), now["parts"].get(name)
        if (old is None) != (new is None):
            return f"the {name} part {'appeared' if old is None else 'disappeared'}"
        if old is None:
            continue
        if old["clips"] != new["clips"]:
            changed = sorted(set(old["clips"].items()) ^ set(new["clips"].items()))
            clip = changed[0][0]
            return (
                f"{name} clip {clip}: {old['clips'].get(clip, 'absent')} frames at the start, "
                f"{new['clips'].get(clip, 'absent')} now"
            )
        for array, value in old["hashes"].items():
            if new["hashes"].get(array) != value:
                return f"the {name} part's {array} changed (same clips, other content)"
    if saved["reference_faces"] != now["reference_faces"]:
        return "the dataset's reference faces changed"
    return None


def check_or_save(workdir: Path, now: dict, resuming: bool, force: bool) -> None:
    """Writes the fingerprint at the first start; on resume refuses a different one, or, when
    forced, records the new one (the data the run now trains on)."""
    path = RunDir(workdir).fingerprint
    if not resuming or not path.exists():
        write_json(path, now)
        return
    difference = _difference(read_json(path), now)
    if difference is None:
        return
    if not force:
        raise TalkmeshError(
            f"{path}: the data differs from the run's start ({difference}); resume with "
            "--force-resume to train on it anyway, or use a new --workdir"
        )
    write_json(path, now)
