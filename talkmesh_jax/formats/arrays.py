"""Frames as arrays and tables: .npy (written as the frames arrive, header last), .json and .csv
of landmarks, and blendshape curves as JSON and in the CSV layout of Live Link Face (ARKit)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import BinaryIO

import numpy as np

from talkmesh_jax.fileio import PendingPath
from talkmesh_jax.formats.base import FaceInfo, FrameWriter

NPY_HEADER_BYTES = 128  # room for any [T, V, 3] shape; numpy aligns headers to 64 bytes
# Apple ARKit's blend shape locations in the order of Live Link Face's CSV recordings
# (Unreal's EARFaceBlendShape), then the head and eye rotations it records.
LIVE_LINK_FACE_COLUMNS = (
    "EyeBlinkLeft EyeLookDownLeft EyeLookInLeft EyeLookOutLeft EyeLookUpLeft EyeSquintLeft "
    "EyeWideLeft EyeBlinkRight EyeLookDownRight EyeLookInRight EyeLookOutRight EyeLookUpRight "
    "EyeSquintRight EyeWideRight JawForward JawLeft JawRight JawOpen MouthClose MouthFunnel "
    "MouthPucker MouthLeft MouthRight MouthSmileLeft MouthSmileRight MouthFrownLeft "
    "MouthFrownRight MouthDimpleLeft MouthDimpleRight MouthStretchLeft MouthStretchRight "
    "MouthRollLower MouthRollUpper MouthShrugLower MouthShrugUpper MouthPressLeft MouthPressRight "
    "MouthLowerDownLeft MouthLowerDownRight MouthUpperUpLeft MouthUpperUpRight BrowDownLeft "
    "BrowDownRight BrowInnerUp BrowOuterUpLeft BrowOuterUpRight CheekPuff CheekSquintLeft "
    "CheekSquintRight NoseSneerLeft NoseSneerRight TongueOut HeadYaw HeadPitch HeadRoll "
    "LeftEyeYaw LeftEyePitch LeftEyeRoll RightEyeYaw RightEyePitch RightEyeRoll"
).split()


def blendshapes_name(target: Path, suffix: str) -> Path:
    """OUT.<anything> → OUT.blendshapes<suffix>"""
    return target.with_name(f"{target.stem}.blendshapes{suffix}")


def landmark_names(count: int) -> list[str]:
    """Names of the landmark columns: lm0 … lm{V−1} (MediaPipe's vertex indices)."""
    return [f"lm{i}" for i in range(count)]


class NpyStream:
    """A .npy file [T, *shape] float32 written block by block (T unknown until the end): the
    header is written last, in a space reserved at the start, so memory stays flat."""

    def __init__(self, file: BinaryIO, shape: tuple[int, ...]):
        self.file, self.shape, self.rows = file, tuple(shape), 0
        file.write(b"\0" * NPY_HEADER_BYTES)

    def write(self, rows: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(rows, "<f4").tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        header = {"descr": "<f4", "fortran_order": False, "shape": (self.rows, *self.shape)}
        text = repr(header).encode("latin1")
        room = NPY_HEADER_BYTES - 10 - 1  # magic + version + length, and the final newline
        self.file.seek(0)
        self.file.write(b"\x93NUMPY\x01\x00" + np.uint16(room + 1).tobytes())
        self.file.write(text.ljust(room) + b"\n")
        self.file.close()


def read_npy_header(path: Path) -> dict:
    """The header of a .npy file (for tests and checks)."""
    with open(path, "rb") as f:
        f.seek(8)
        length = int(np.frombuffer(f.read(2), "<u2")[0])
        return ast.literal_eval(f.read(length).decode("latin1"))


class NpyWriter(FrameWriter):
    """OUT.npy landmarks [T, V, 3] float32 cm; OUT.blendshapes.npy [T, K] float32."""

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.pending, self.streams = {}, {}
        if face.num_vertices is not None:
            self._open("landmarks", target, (face.num_vertices, 3))
        if face.blendshape_names is not None:
            shape = (len(face.blendshape_names),)
            self._open("blendshapes", blendshapes_name(target, ".npy"), shape)

    def _open(self, name: str, path: Path, shape: tuple[int, ...]) -> None:
        self.pending[name] = PendingPath(path)
        self.streams[name] = NpyStream(open(self.pending[name].tmp, "wb"), shape)

    def _write(self, block):
        for name, stream in self.streams.items():
            stream.write(block[name])

    def finish(self) -> list[Path]:
        for stream in self.streams.values():
            stream.close()
        return [pending.commit() for pending in self.pending.values()]

    def discard(self) -> None:
        for name, stream in self.streams.items():
            stream.file.close()
            self.pending[name].discard()


def _rows(values: np.ndarray, decimals: int) -> list[str]:
    """[m, n] → m lines of comma-separated fixed-point numbers."""
    return [",".join(f"{v:.{decimals}f}" for v in row) for row in values.tolist()]


class _TextWriter(FrameWriter):
    """One text file written as frames arrive (landmarks, or blendshapes when there are none)."""

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.files: dict[str, tuple[PendingPath, object]] = {}

    def _open(self, name: str, path: Path, first_lines: str) -> None:
        pending = PendingPath(path)
        handle = open(pending.tmp, "w")
        handle.write(first_lines)
        self.files[name] = (pending, handle)

    def _out(self, name: str):
        return self.files[name][1]

    def _closing_text(self, name: str) -> str:
        return ""

    def finish(self) -> list[Path]:
        for name, (_, handle) in self.files.items():
            handle.write(self._closing_text(name))
            handle.close()
        return [pending.commit() for pending, _ in self.files.values()]

    def discard(self) -> None:
        for pending, handle in self.files.values():
            handle.close()
            pending.discard()


class CsvWriter(_TextWriter):
    """OUT.csv: `frame,time_s,lm0_x,lm0_y,lm0_z,…` (cm, 6 decimals); OUT.blendshapes.csv in Live
    Link Face's layout: `Timecode,BlendShapeCount,EyeBlinkLeft,…,RightEyeRoll` (61 values per
    frame, the ones MediaPipe does not predict — TongueOut, head and eye rotations — are 0)."""

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        if face.num_vertices is not None:
            names = landmark_names(face.num_vertices)
            columns = ",".join(f"{n}_{axis}" for n in names for axis in "xyz")
            self._open("landmarks", target, f"frame,time_s,{columns}\n")
        if face.blendshape_names is not None:
            header = "Timecode,BlendShapeCount," + ",".join(LIVE_LINK_FACE_COLUMNS) + "\n"
            self._open("blendshapes", blendshapes_name(target, ".csv"), header)
            ours = {name[:1].upper() + name[1:]: i for i, name in enumerate(face.blendshape_names)}
            self.columns = [ours.get(name) for name in LIVE_LINK_FACE_COLUMNS]

    def _write(self, block):
        fps, first = self.face.fps, self.frames
        if "landmarks" in self.files:
            values = block["landmarks"].reshape(len(block["landmarks"]), -1)
            lines = _rows(values, 6)
            self._out("landmarks").writelines(
                f"{first + i},{(first + i) / fps:.3f},{line}\n" for i, line in enumerate(lines)
            )
        if "blendshapes" in self.files:
            curves = block["blendshapes"]
            table = np.zeros((len(curves), len(self.columns)), np.float32)
            for j, index in enumerate(self.columns):
                if index is not None:
                    table[:, j] = curves[:, index]
            lines = _rows(table, 6)
            count = len(self.columns)
            self._out("blendshapes").writelines(
                f"{timecode(first + i, fps)},{count},{line}\n" for i, line in enumerate(lines)
            )


def timecode(frame: int, fps: int) -> str:
    """Live Link Face's SMPTE-style timecode of a frame: HH:MM:SS:FF.mmm (from 0)."""
    seconds, frames = divmod(frame, fps)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}.000"


class JsonWriter(_TextWriter):
    """OUT.json: {"format", "fps", "units", "num_landmarks", "landmark_names", "frames": [[[x, y,
    z] × V] × T], "num_frames"}; OUT.blendshapes.json: {"format", "fps", "names": [52 MediaPipe
    names], "frames": [[K values] × T], "num_frames"}. Written as the frames arrive."""

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.started: set[str] = set()
        if face.num_vertices is not None:
            head = {
                "format": "talkmesh-landmarks",
                "fps": face.fps,
                "units": "cm",
                "axes": "x: subject's left, y: up, z: toward the camera",
                "num_landmarks": face.num_vertices,
                "landmark_names": landmark_names(face.num_vertices),
            }
            self._open("landmarks", target, _json_head(head))
        if face.blendshape_names is not None:
            head = {
                "format": "talkmesh-blendshapes",
                "fps": face.fps,
                "names": list(face.blendshape_names),
            }
            self._open("blendshapes", blendshapes_name(target, ".json"), _json_head(head))

    def _write(self, block):
        for name in self.files:
            values = np.round(block[name].astype(np.float64), 6)
            text = ",\n".join(json.dumps(frame) for frame in values.tolist())
            if text:
                self._out(name).write((",\n" if name in self.started else "") + text)
                self.started.add(name)

    def _closing_text(self, name: str) -> str:
        return f'\n],\n"num_frames": {self.frames}\n}}\n'


def _json_head(head: dict) -> str:
    return json.dumps(head, indent=1)[:-2] + ',\n"frames": [\n'
