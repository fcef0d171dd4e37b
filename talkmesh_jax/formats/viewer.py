"""Self-contained HTML viewers: one file, no server, no network. The animated face (shaded
triangles on a 2D canvas, drag to rotate), the input's audio embedded (mp3) and played in sync,
play/pause and a frame slider; `#t=SECONDS` in the address opens it at a time.

Two sources, one player (`resources/viewer.js`): landmark frames (`HtmlViewerWriter`, embedded as
they arrive as int16 positions, about 3 µm steps for a face, so writing needs no more memory than
one block; `viewer_frames.js`), or a whole `.glb` rig animation (`write_rig_page`: the file
embedded as is and played by `viewer_glb.js`, which reads its morph targets and weight
animation in the browser)."""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import numpy as np

from talkmesh_jax.facemesh import resource_path
from talkmesh_jax.fileio import PendingPath
from talkmesh_jax.formats.base import FaceInfo, FrameWriter
from talkmesh_jax.media import run_tool, tool_path

AUDIO_BLOCK = 3 * 2**16  # bytes per base64 block (a multiple of 3, so blocks join)


class HtmlViewerWriter(FrameWriter):
    """OUT.html (see the module docstring)."""

    needs_landmarks = needs_triangles = True

    def __init__(self, target: Path, face: FaceInfo):
        super().__init__(target, face)
        self.pending = PendingPath(target)
        self.out = open(self.pending.tmp, "w", encoding="utf-8")
        title = html.escape(face.title or target.stem)
        self.out.write(resource_path("viewer.html").read_text().replace("__TITLE__", title))
        self.centre: np.ndarray | None = None

    def _write(self, block):
        landmarks = block["landmarks"]
        if self.centre is None:
            first = landmarks[0]
            self.centre = (first.min(0) + first.max(0)) / 2
            self.half_extent = float(np.abs(first - self.centre).max())
            self.scale = 2.0 * max(self.half_extent, 1e-6)  # cm at int16's full range
        q = np.clip(np.round((landmarks - self.centre) / self.scale * 32767), -32767, 32767)
        data = base64.b64encode(q.astype("<i2").tobytes()).decode("ascii")
        self.out.write(f'<script>DATA.push("{data}");</script>\n')

    def finish(self) -> list[Path]:
        self._write_audio()
        meta = {
            "fps": self.face.fps,
            "num_frames": self.frames,
            "num_vertices": self.face.num_vertices,
            "scale": self.scale,
            "half_extent": self.half_extent,
            "triangles": base64.b64encode(np.asarray(self.face.triangles, "<i4").tobytes()).decode(
                "ascii"
            ),
        }
        _write_player(self.out, meta, "viewer_frames.js")
        self.out.close()
        return [self.pending.commit()]

    def _write_audio(self) -> None:
        _write_audio(self.out, self.face.audio)

    def discard(self) -> None:
        self.out.close()
        self.pending.discard()


def write_rig_page(glb: Path, audio: Path, out: Path, title: str = "", fps: int = 25) -> Path:
    """OUT.html playing the rig animation in `glb` (its first mesh with morph targets and that
    mesh's weight animation, sampled at `fps`) with `audio`; atomically."""
    pending = PendingPath(out)
    try:
        with open(pending.tmp, "w", encoding="utf-8") as page:
            heading = html.escape(title or glb.stem)
            page.write(resource_path("viewer.html").read_text().replace("__TITLE__", heading))
            with open(glb, "rb") as f:
                while data := f.read(AUDIO_BLOCK):
                    page.write(
                        f'<script>DATA.push("{base64.b64encode(data).decode()}");</script>\n'
                    )
            _write_audio(page, audio)
            _write_player(page, {"fps": fps}, "viewer_glb.js")
        return pending.commit()
    finally:
        pending.discard()


def _write_player(page, meta: dict, source: str) -> None:
    """META, the FACE source script and the player; closes the document."""
    page.write(f"<script>const META = {json.dumps(meta)};</script>\n<script>\n")
    page.write(resource_path(source).read_text())
    page.write("</script>\n<script>\n")
    page.write(resource_path("viewer.js").read_text())
    page.write("</script>\n</body>\n</html>\n")


def _write_audio(page, source: Path) -> None:
    """The audio of `source` as mp3 (64 kb/s mono), in base64 blocks pushed onto AUDIO."""
    with tempfile.NamedTemporaryFile(suffix=".mp3") as mp3:
        args = [tool_path("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(source)]
        args += ["-map", "0:a:0", "-vn", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k"]
        run_tool(args + [mp3.name], source, "encoding the audio for the viewer")
        with open(mp3.name, "rb") as f:
            while data := f.read(AUDIO_BLOCK):
                encoded = base64.b64encode(data).decode("ascii")
                page.write(f'<script>AUDIO.push("{encoded}");</script>\n')
