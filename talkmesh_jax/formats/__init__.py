"""Export formats: which exist, how `--format` and the output's suffix choose them, where each
writes. Every writer receives the frames as they are predicted (flat memory for any length) and
writes under a temporary name, moved into place only when the whole input succeeded."""

from __future__ import annotations

from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.formats.arrays import CsvWriter, JsonWriter, NpyWriter
from talkmesh_jax.formats.base import FaceInfo, FrameWriter
from talkmesh_jax.formats.glb import GlbWriter
from talkmesh_jax.formats.obj import ObjSequenceWriter
from talkmesh_jax.formats.video import Mp4Writer
from talkmesh_jax.formats.viewer import HtmlViewerWriter

WRITERS: dict[str, type[FrameWriter]] = {
    "npy": NpyWriter,
    "json": JsonWriter,
    "csv": CsvWriter,
    "obj": ObjSequenceWriter,
    "mp4": Mp4Writer,
    "html": HtmlViewerWriter,
    "glb": GlbWriter,
}
FORMATS = tuple(WRITERS)

__all__ = ["FORMATS", "WRITERS", "FaceInfo", "FrameWriter", "parse_formats"]


def parse_formats(text: str | None, out: Path | None = None) -> tuple[str, ...]:
    """`--format npy,mp4` → ("npy", "mp4"); without it, the suffix of `out` (a file) or npy.
    An unknown name is a one-line error listing the known ones."""
    if text is None:
        suffix = out.suffix.lower().lstrip(".") if out is not None else ""
        if not suffix or suffix not in WRITERS:
            if suffix and out is not None and not out.is_dir():
                raise TalkmeshError(f"{out}: unknown output format .{suffix} ({_known()})")
            return ("npy",)
        return (suffix,)
    names = [name.strip().lower().lstrip(".") for name in text.split(",") if name.strip()]
    if not names:
        raise TalkmeshError(f"--format {text!r}: name at least one format ({_known()})")
    for name in names:
        if name not in WRITERS:
            raise TalkmeshError(f"--format: unknown format {name!r} ({_known()})")
    return tuple(dict.fromkeys(names))


def _known() -> str:
    return "known: " + ", ".join(FORMATS)
