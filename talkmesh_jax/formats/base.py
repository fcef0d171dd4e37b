"""What every export format shares: the face being written, and the writer interface."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, TalkmeshError


@dataclass(frozen=True)
class FaceInfo:
    """What a writer needs to know besides the frames. `num_vertices` None: the run predicts no
    landmarks; `triangles` [F, 3] int32 (MediaPipe's for landmarks, the template's for meshes;
    None: unknown); `blendshape_names` None: the run predicts no blendshapes; `audio`: the input
    file (muxed into videos and viewers); `title`: shown in videos and viewers."""

    num_vertices: int | None
    triangles: np.ndarray | None
    blendshape_names: tuple[str, ...] | None
    audio: Path
    title: str = ""
    fps: int = FPS


class FrameWriter(abc.ABC):
    """Receives the frames of one input in order, in blocks, and writes one output (a file or a
    folder) under a temporary name; `finish` moves it into place, `discard` removes it."""

    needs_landmarks = False
    needs_triangles = False

    def __init__(self, target: Path, face: FaceInfo):
        if self.needs_landmarks and face.num_vertices is None:
            raise TalkmeshError(f"{target}: this run predicts no landmarks to draw")
        if self.needs_triangles and face.triangles is None:
            raise TalkmeshError(f"{target}: no triangles known for this run's faces")
        self.target, self.face = target, face
        self.frames = 0

    def write(self, block: dict[str, np.ndarray]) -> None:
        """block: {"landmarks": [m, V, 3] float32 cm, "blendshapes": [m, K]} (those predicted)."""
        self._write(block)
        self.frames += len(next(iter(block.values())))

    @abc.abstractmethod
    def _write(self, block: dict[str, np.ndarray]) -> None: ...

    @abc.abstractmethod
    def finish(self) -> list[Path]:
        """Completes and moves the output(s) into place; returns their paths."""

    @abc.abstractmethod
    def discard(self) -> None:
        """Removes whatever was written (safe to call after `finish`)."""
