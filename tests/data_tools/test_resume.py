"""Extraction killed with SIGKILL mid-run, then rerun: complete files, no video done twice."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset
from tests.data_tools.videos import frame_plan, render, write_video


def test_kill_and_resume(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    first = write_video(videos / "clip_a.mp4", render(frame_plan(50)))
    for name in ("clip_b", "clip_c", "clip_d"):
        shutil.copy(first, videos / f"{name}.mp4")
    data = tmp_path / "data"
    command = [sys.executable, "-m", "talkmesh_jax.cli", "extract", str(videos), str(data)]
    process = subprocess.Popen(command + ["--no-progress"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (data / "landmarks" / "clip_a.npy").exists():  # wait until one video is done
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the next video
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    complete_before = set(Dataset(data).clip_names())
    assert "clip_a" in complete_before and len(complete_before) < 4

    summary_path = tmp_path / "summary.json"
    argv = ["extract", str(videos), str(data), "--no-progress", "--json", str(summary_path)]
    assert main(argv) == 0
    summary = json.loads(summary_path.read_text())
    assert set(summary["skipped"]) == complete_before
    assert set(summary["done"]) == {"clip_a", "clip_b", "clip_c", "clip_d"} - complete_before
    dataset = Dataset(data)
    assert dataset.clip_names() == ["clip_a", "clip_b", "clip_c", "clip_d"]
    reference = dataset.load_clip("clip_a")
    for name in dataset.clip_names():  # identical inputs give identical, complete outputs
        for got, want in zip(dataset.load_clip(name), reference, strict=True):
            np.testing.assert_array_equal(got, want)
    hidden = [p for p in data.rglob(".*") if p.name != "."]
    assert hidden == []  # temporaries of the killed run were cleaned up
