"""Bad videos fail one by one with a one-line error; the rest completes; nothing partial is left."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset
from tests.data_tools.videos import frame_plan, render, write_video


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad") / "videos"
    folder.mkdir()
    frames = render(frame_plan(30))
    good = write_video(folder / "good.mp4", frames)
    # moov atom first (faststart), then cut: ffprobe accepts it, decoding hits the cut.
    faststart = folder.parent / "faststart.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(good), "-c", "copy", "-movflags", "+faststart"]
        + [str(faststart)],
        check=True,
    )
    data = faststart.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    data = good.read_bytes()
    (folder / "cut_header.mp4").write_bytes(data[: len(data) // 2])  # moov atom lost
    (folder / "text.mp4").write_text("this is not a video\n")
    write_video(folder / "silent.mp4", frames, audio=False)
    return folder


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("workers", [1, 2])
def test_each_bad_video_fails_alone(bad_folder, tmp_path, capsys, workers):
    data = tmp_path / "data"
    argv = ["extract", str(bad_folder), str(data), "--no-progress", "--workers", str(workers)]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("talkmesh: error:")]
    expected = {
        "truncated.mp4": "corrupt input packet",
        "cut_header.mp4": "probing failed",
        "text.mp4": "probing failed",
        "silent.mp4": "no audio stream",
    }
    assert len(errors) == len(expected)
    for name, reason in expected.items():
        assert any(name in line and reason in line for line in errors), (name, errors)
    assert "1 done, 0 skipped (already done), 4 failed" in out
    assert Dataset(data).clip_names() == ["good"]
    leftovers = [p for p in _all_files(data) if p.stem not in ("good", "dataset")]
    assert leftovers == []  # no partial or temporary file of a bad video
    for path in data.rglob("*.npy"):
        np.load(path)  # every file that exists is complete


def test_missing_directory_is_one_line(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nowhere"), str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"talkmesh: error: {tmp_path / 'nowhere'}: no such file or directory"
    assert not (tmp_path / "data").exists()


def test_folder_without_videos(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert main(["extract", str(tmp_path), str(tmp_path / "data")]) == 1
    assert "no video files" in capsys.readouterr().err
