"""Learning check, through `talkmesh demo`: the tiny config on `talkmesh synth` data (landmarks
and blendshapes), trained on this CPU for a minute or two, reaches a held-out LVE at most half
that of the static mean face and predicts jawOpen with a correlation of at least 0.9 (measured
0.99); the demo's export and plot land, and a second run reuses the data and the finished run."""

import json
import math

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.media import load_audio


@pytest.mark.slow
def test_tiny_config_learns_lip_sync(tmp_path, capsys):
    work = tmp_path / "demo"
    argv = ["demo", "--workdir", str(work), "--clips", "40", "--steps", "500", "--no-progress"]
    assert main(argv) == 0
    summary = json.loads((work / "eval_test.json").read_text())
    metrics = summary["metrics"]
    print(json.dumps({k: v["lve"] for k, v in metrics.items()}))
    assert summary["blendshapes"]["jaw_open_correlation"] >= 0.9
    assert metrics["model"]["lve"] <= 0.5 * metrics["mean_face"]["lve"]
    assert metrics["model"]["lve"] < metrics["close_mouth_face"]["lve"]
    printed = capsys.readouterr().out
    assert "test LVE  model" in printed

    landmarks = np.load(work / "speech_landmarks.npy")
    seconds = len(load_audio(work / "speech.wav")) / 16000
    assert landmarks.shape == (round(seconds * 25), 478, 3) and landmarks.dtype == np.float32
    assert np.isfinite(landmarks).all() and landmarks[:, 13, 1].std() > 0.02  # the lip moves
    curves = np.load(work / "speech_landmarks.blendshapes.npy")
    assert curves.shape == (len(landmarks), 52) and curves[:, 25].std() > 0.02  # jawOpen moves
    assert (work / "curves.png").stat().st_size > 10_000
    for name in ("speech_landmarks.mp4", "speech_landmarks.html"):
        assert (work / name).stat().st_size > 10_000 and str(work / name) in printed

    data_stamp = (work / "data" / "dataset.json").stat().st_mtime_ns
    assert main(argv) == 0  # everything reused: no new data, training already finished
    assert (work / "data" / "dataset.json").stat().st_mtime_ns == data_stamp
    lines = (work / "run" / "metrics.jsonl").read_text().splitlines()
    assert max(json.loads(line)["step"] for line in lines) == 500
    assert not math.isnan(json.loads(lines[-1]).get("loss", 0.0))
