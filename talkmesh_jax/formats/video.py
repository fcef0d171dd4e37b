"""An mp4 of the face: front and side views drawn with OpenCV (the MediaPipe tessellation for
landmarks, the template's triangle edges for meshes; lips in red), piped to ffmpeg frame by frame
and muxed with the input's audio. One video frame per landmark frame, at 25 fps."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import region_indices, tesselation_edges
from talkmesh_jax.fileio import PendingPath
from talkmesh_jax.formats.base import FaceInfo, FrameWriter
from talkmesh_jax.media import last_error_line, tool_path

PANEL = 360  # pixels, each view is PANEL × PANEL
TITLE_BAR = 28
BACKGROUND = (24, 24, 24)
FACE_COLOUR = (200, 200, 200)
LIP_COLOUR = (60, 60, 230)


def face_edges(num_vertices: int, triangles: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(all edges [E, 2], lip edges [L, 2]) to draw: MediaPipe's tessellation and lips for
    landmarks, the triangles' edges (no lips) for meshes."""
    if num_vertices in (468, 478):
        lips = set(region_indices()["lips"])
        edges = tesselation_edges()
        on_lips = np.array([a in lips and b in lips for a, b in edges.tolist()])
        return edges, edges[on_lips]
    pairs = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    return np.unique(np.sort(pairs, axis=1), axis=0), np.zeros((0, 2), np.int32)


class Projection:
    """Fixed front (x, y) and side (z, y) projections fitted to a first frame [V, 3] cm, so the
    face keeps its size through the video."""

    def __init__(self, first: np.ndarray):
        centre = (first.min(0) + first.max(0)) / 2
        extent = float((first.max(0) - first.min(0)).max()) * 1.25
        self.centre, self.scale = centre, PANEL / max(extent, 1e-6)

    def points(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[V, 3] → (front [V, 2], side [V, 2]) pixel coordinates, 4 bits of sub-pixel."""
        d = (vertices - self.centre) * self.scale
        y = TITLE_BAR + PANEL / 2 - d[:, 1]
        front = np.stack([PANEL / 2 + d[:, 0], y], 1)
        side = np.stack([PANEL + PANEL / 2 + d[:, 2], y], 1)
        return (front * 16).astype(np.int32), (side * 16).astype(np.int32)


def draw_frame(vertices, projection, edges, lip_edges, title: str, time_s: float) -> np.ndarray:
    """One video frame [TITLE_BAR + PANEL, 2 · PANEL, 3] uint8 BGR."""
    image = np.full((TITLE_BAR + PANEL, 2 * PANEL, 3), BACKGROUND, np.uint8)
    for points in projection.points(vertices):
        cv2.polylines(image, list(points[edges]), False, FACE_COLOUR, 1, cv2.LINE_AA, shift=4)
        if len(lip_edges):
            cv2.polylines(image, list(points[lip_edges]), False, LIP_COLOUR, 1, cv2.LINE_AA, 4)
    label = f"{title}  {time_s:6.2f} s   front | side"
    cv2.putText(image, label, (8, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (230, 230, 230), 1)
    return image


class Mp4Writer(FrameWriter):
    """OUT.mp4: H.264 (yuv420p, 25 fps) with the input's audio (AAC)."""

    needs_landmarks = True

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.edges, self.lip_edges = face_edges(face.num_vertices, face.triangles)
        self.pending = PendingPath(target)
        self.stderr = tempfile.TemporaryFile()
        height, width = TITLE_BAR + PANEL, 2 * PANEL
        args = [tool_path("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "rawvideo"]
        args += ["-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", str(face.fps), "-i", "-"]
        args += ["-i", str(face.audio), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264"]
        args += ["-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac"]
        args += ["-b:a", "128k", "-movflags", "+faststart", "-f", "mp4", str(self.pending.tmp)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=self.stderr)
        self.projection: Projection | None = None

    def _write(self, block):
        landmarks = block["landmarks"]
        if self.projection is None:
            self.projection = Projection(landmarks[0])
        for i, vertices in enumerate(landmarks):
            time_s = (self.frames + i) / self.face.fps
            image = draw_frame(
                vertices, self.projection, self.edges, self.lip_edges, self.face.title, time_s
            )
            try:
                self.process.stdin.write(image.tobytes())
            except BrokenPipeError:
                self._fail()

    def _fail(self):
        self.process.wait()
        self.stderr.seek(0)
        reason = last_error_line(self.stderr.read(), self.pending.tmp)
        raise TalkmeshError(f"{self.target}: writing the video failed: {reason}")

    def finish(self) -> list[Path]:
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        if self.process.wait() != 0:
            self._fail()
        self.stderr.close()
        return [self.pending.commit()]

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stderr.close()
        self.pending.discard()
