"""An OBJ sequence: one Wavefront OBJ per frame in a folder (OUT_obj/OUT_000001.obj, …), the
layout Blender's Stop-motion-OBJ and MeshSequenceCache importers read. Landmarks use MediaPipe's
canonical triangles and UVs; meshes use their template's triangles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkmesh_jax.facemesh import canonical_face
from talkmesh_jax.fileio import PendingPath
from talkmesh_jax.formats.base import FaceInfo, FrameWriter
from talkmesh_jax.wavefront import read_obj


def obj_folder(target: Path) -> Path:
    """OUT.<anything> → OUT_obj/"""
    return target.with_name(f"{target.stem}_obj")


def obj_frame_name(stem: str, frame: int) -> str:
    """Frame t (from 0) → <stem>_<t + 1, six digits>.obj (Blender counts frames from 1)."""
    return f"{stem}_{frame + 1:06d}.obj"


def read_obj_vertices(path: Path) -> np.ndarray:
    """The `v` lines of an OBJ file: [V, 3] float32."""
    return read_obj(path)[0]


class ObjSequenceWriter(FrameWriter):
    """OUT_obj/: OUT_000001.obj … one per frame (vertices in cm, 6 decimals)."""

    needs_landmarks = needs_triangles = True

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.pending = PendingPath(obj_folder(target), folder=True)
        self.stem = target.stem
        uv = None
        if face.num_vertices in (468, 478):
            uv = canonical_face()["uv"]
        self.tail = _faces_text(np.asarray(face.triangles), uv, face.num_vertices)

    def _write(self, block):
        for i, vertices in enumerate(block["landmarks"]):
            lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices.tolist()]
            path = self.pending.tmp / obj_frame_name(self.stem, self.frames + i)
            path.write_text("# talkmesh-jax, cm\n" + "\n".join(lines) + "\n" + self.tail)

    def finish(self) -> list[Path]:
        return [self.pending.commit()]

    def discard(self) -> None:
        self.pending.discard()


def _faces_text(triangles: np.ndarray, uv: np.ndarray | None, num_vertices: int) -> str:
    """`vt` lines (when there are UVs; iris points, beyond them, reuse UV 0) and 1-based `f`
    lines."""
    if uv is None:
        return "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in triangles.tolist())
    coords = np.zeros((num_vertices, 2), np.float32)
    coords[: len(uv)] = uv
    lines = [f"vt {u:.6f} {v:.6f}\n" for u, v in coords.tolist()]
    lines += [
        f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}\n" for a, b, c in triangles.tolist()
    ]
    return "".join(lines)
