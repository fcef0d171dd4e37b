"""OBJ sequences read back equal; the mp4 has the frames' count and an audio stream (ffprobe);
the HTML viewer draws a face in headless Chromium, and another one at another time."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from talkmesh_jax.formats.obj import ObjSequenceWriter, obj_frame_name, read_obj_vertices
from talkmesh_jax.formats.video import Mp4Writer
from talkmesh_jax.formats.viewer import HtmlViewerWriter
from tests.formats.conftest import FRAMES, write_all


def test_obj_sequence_reads_back(tmp_path, talking_face, face_info):
    (folder,) = write_all(ObjSequenceWriter(tmp_path / "out.obj", face_info), talking_face)
    assert folder == tmp_path / "out_obj"
    files = sorted(folder.iterdir())
    assert [f.name for f in files[:2]] == [obj_frame_name("out", 0), "out_000002.obj"]
    assert len(files) == FRAMES
    for t in (0, 13, FRAMES - 1):
        vertices = read_obj_vertices(files[t])
        np.testing.assert_allclose(vertices, talking_face["landmarks"][t], atol=6e-7)
    lines = files[0].read_text().splitlines()
    assert sum(line.startswith("f ") for line in lines) == 898
    assert sum(line.startswith("vt ") for line in lines) == 468
    # a second export replaces the folder whole
    write_all(ObjSequenceWriter(tmp_path / "out.obj", face_info), talking_face)
    assert len(list(folder.iterdir())) == FRAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out_obj", "speech.wav"]


def _ffprobe(path) -> dict:
    args = ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)]
    return json.loads(subprocess.run(args, capture_output=True, check=True).stdout)


def test_mp4_has_every_frame_and_the_audio(tmp_path, talking_face, face_info):
    (path,) = write_all(Mp4Writer(tmp_path / "out.mp4", face_info), talking_face)
    streams = {s["codec_type"]: s for s in _ffprobe(path)["streams"]}
    assert int(streams["video"]["nb_read_frames"]) == FRAMES
    assert streams["video"]["avg_frame_rate"] == "25/1"
    assert float(streams["audio"]["duration"]) == pytest.approx(FRAMES / 25, abs=0.05)


def _screenshot(page, time_s: float, out, size: str = "760,820", scrollbars: bool = False):
    import cv2

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu"]
    args += [] if scrollbars else ["--hide-scrollbars"]
    args += [f"--window-size={size}", f"--screenshot={out}", "--virtual-time-budget=5000"]
    subprocess.run(args + [f"{page.as_uri()}#t={time_s}"], capture_output=True, timeout=120)
    return cv2.imread(str(out))


def assert_face_drawn_and_moving(page, later_s: float, tmp_path) -> None:
    """The page shows a face at 0 s (not the background) and the face differs at `later_s`."""
    closed = _screenshot(page, 0.0, tmp_path / "closed.png")
    opened = _screenshot(page, later_s, tmp_path / "open.png")
    face = np.abs(closed.astype(int) - [24, 24, 24]).sum(-1) > 30
    assert face.mean() > 0.05  # the canvas shows a face, not the background
    changed = np.abs(opened.astype(int) - closed.astype(int)).sum(-1) > 30
    assert changed.mean() > 0.001  # the mouth moved


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="needs Debian's chromium (.ci/run installs it)",
)
def test_html_viewer_draws_the_face_and_it_moves(tmp_path, talking_face, face_info):
    (page,) = write_all(HtmlViewerWriter(tmp_path / "out.html", face_info), talking_face)
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert text.count("AUDIO.push(") >= 1
    assert_face_drawn_and_moving(page, 0.5, tmp_path)  # sin² peaks at 1 s
    for size in ("800,600", "900,650"):  # small windows: the whole face, no scroll bar
        shot = _screenshot(page, 0.0, tmp_path / f"{size}.png", size, scrollbars=True)
        face = shot[..., 2].astype(int) - shot[..., 0] > 20  # skin tones (BGR), not grey text
        rows = np.flatnonzero(face.any(1))
        assert face.mean() > 0.05 and rows.max() < shot.shape[0] - 20, size  # chin above the hint
        # a scroll bar would be a light strip down the right edge
        assert np.abs(shot[:, -12:].astype(int) - [24, 24, 24]).sum(-1).mean() < 30, size
