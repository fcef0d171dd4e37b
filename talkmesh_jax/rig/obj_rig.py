"""A rig as OBJ files: a neutral head and a folder of shape targets, one OBJ per target.

Each target file is the whole head in that shape (same vertices, same order as the neutral, as
Blender and Maya export shape keys / blend shapes one by one); its name is the file's stem
(`jawOpen.obj` → `jawOpen`), targets in name order; the neutral's own file, if it sits in the
folder, is skipped. The displacement of a target is its vertices − the neutral's. `obj_rig_to_glb`
writes the rig as a glTF (the neutral's triangles, named morph targets, the file's units) so that
the rest of retargeting — and any glTF viewer or Blender — reads one format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.wavefront import read_obj


def read_obj_rig(
    neutral: str | Path, targets_dir: str | Path
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(neutral [V, 3] float32, triangles [F, 3] int32, {name: displacement [V, 3] float32}) in
    the files' units; a clear error for a folder without targets or a target whose vertex count
    differs from the neutral's."""
    neutral, targets_dir = Path(neutral), Path(targets_dir)
    base, triangles = read_obj(neutral)
    if not targets_dir.is_dir():
        raise TalkmeshError(f"{targets_dir}: not a folder of OBJ shape targets")
    files = sorted(
        p
        for p in targets_dir.iterdir()
        if p.suffix.lower() == ".obj" and p.resolve() != neutral.resolve()
    )
    if not files:
        raise TalkmeshError(f"{targets_dir}: no .obj shape targets in this folder")
    targets = {}
    for path in files:
        vertices, _ = read_obj(path)
        if vertices.shape != base.shape:
            raise TalkmeshError(
                f"{path}: {len(vertices)} vertices, the neutral {neutral.name} has {len(base)} "
                "(a shape target must be the same mesh moved)"
            )
        targets[path.stem] = vertices - base
    return base, triangles, targets


def obj_rig_to_glb(neutral: str | Path, targets_dir: str | Path, out: str | Path) -> Path:
    """The OBJ rig written as a `.glb` with morph targets at `out`."""
    from talkmesh_jax.formats.gltf import write_rig

    base, triangles, targets = read_obj_rig(neutral, targets_dir)
    return write_rig(out, base, triangles, targets)
