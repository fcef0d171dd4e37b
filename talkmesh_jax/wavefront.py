"""Wavefront OBJ meshes, read and written one way for the whole package (dataset templates, OBJ
sequences, OBJ rigs).

Read: `v x y z` lines (extra colour components ignored) and `f` lines whose corners may be `i`,
`i/t`, `i//n` or `i/t/n`, 1-based or negative (relative to the vertices read so far); polygons
with more than three corners are split into a fan of triangles. Other lines (`vt`, `vn`, `o`, `g`,
`usemtl`, comments …) are ignored. Units are the file's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError


def read_obj(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices [V, 3] float32, triangles [F, 3] int32, 0-based) of an OBJ file; a clear
    error naming the file and line for anything malformed."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise TalkmeshError(f"{path}: cannot read ({err.strerror or type(err).__name__})") from None
    vertices: list[list[float]] = []
    triangles: list[tuple[int, int, int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "v":
                vertices.append([float(x) for x in parts[1:4]])
                if len(vertices[-1]) != 3:
                    raise ValueError
            elif parts[0] == "f":
                corners = [_corner(p, len(vertices)) for p in parts[1:]]
                if len(corners) < 3:
                    raise ValueError
                fan = range(1, len(corners) - 1)
                triangles += [(corners[0], corners[k], corners[k + 1]) for k in fan]
        except ValueError:
            shown = line.strip()[:60]
            raise TalkmeshError(f"{path}:{number}: not a valid OBJ line: {shown!r}") from None
    if not vertices:
        raise TalkmeshError(f"{path}: no vertices (`v` lines) in this OBJ file")
    faces = np.asarray(triangles, np.int32).reshape(-1, 3)
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise TalkmeshError(f"{path}: a face uses a vertex the file does not have")
    return np.asarray(vertices, np.float32), faces


def _corner(token: str, seen: int) -> int:
    """0-based vertex index of one `f` corner (`i`, `i/t`, `i//n`, `i/t/n`; negative: relative)."""
    index = int(token.split("/")[0])
    if index == 0:
        raise ValueError
    return index - 1 if index > 0 else seen + index


def write_obj(path: str | Path, vertices: np.ndarray, triangles: np.ndarray) -> None:
    """A Wavefront OBJ: `v x y z` lines (6 decimals), then 1-based `f a b c` lines. Not atomic
    by itself: callers write to a temporary name."""
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(vertices).tolist()]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(triangles).tolist()]
    Path(path).write_text("\n".join(lines) + "\n")
