"""Learning check, through `talkmesh demo` as shipped: `whisper_tiny` (frozen pretrained Whisper
tiny.en) on phoneme-driven `talkmesh synth` data (landmarks and blendshapes), trained on this CPU in
about 2.5 minutes. On the held-out synthetic clips: LVE at most 0.35× the static mean face's and
jawOpen r ≥ 0.9 (measured 0.25×, 0.97). On the shipped recordings of people: lip error ≤ 0.6× the
static face's with lip-gap r ≥ 0.8 (measured 0.56×, 0.81), 20 dB quieter ≤ 1.1× that, with white
or pink noise at 10 dB SNR ≤ 1.3×, digital silence and −60 dBFS hiss the same face (< 0.02 cm;
measured 0.99×, 1.06×, 1.03×, 0.000 cm), and the demo's export of the LibriVox reading says the
same; the reading lands on the built-in rig as .glb; the export and plot land, and a second run
reuses the data, the run, its evaluation, its export and the rig's animation."""

import json
import math

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.formats.gltf import read_weight_animation
from talkmesh_jax.media import load_audio
from talkmesh_jax.metrics import lip_gap

REUSED = (
    "data/dataset.json",
    "eval_test.json",
    "speech_landmarks.npy",
    "speech_landmarks.mp4",
    "speech_rig.glb",
)


@pytest.mark.slow
def test_tiny_config_learns_lip_sync(tmp_path, capsys):
    work = tmp_path / "demo"
    argv = ["demo", "--workdir", str(work), "--no-progress"]
    assert main(argv) == 0
    summary = json.loads((work / "eval_test.json").read_text())
    metrics = summary["metrics"]
    print(json.dumps({k: v["lve"] for k, v in metrics.items()}))
    assert summary["blendshapes"]["jaw_open_correlation"] >= 0.9
    assert metrics["model"]["lve"] <= 0.35 * metrics["mean_face"]["lve"]
    assert metrics["model"]["lve"] < metrics["close_mouth_face"]["lve"]
    recorded = summary["speech"]["recorded"]
    print(json.dumps(recorded))
    assert recorded["clean"]["lve_ratio"] <= 0.6
    assert recorded["clean"]["lip_gap_correlation"] >= 0.8
    assert recorded["quiet_20db"]["lve_ratio"] <= 1.1 * recorded["clean"]["lve_ratio"]
    for noisy in ("noise_10db", "pink_10db"):
        assert recorded[noisy]["lve_ratio"] <= 1.3 * recorded["clean"]["lve_ratio"]
    assert recorded["silence_vs_hiss_cm"] < 0.02  # the noise gate: −60 dBFS hiss is silence
    printed = capsys.readouterr().out
    assert "test LVE  model" in printed and "recorded clean" in printed
    assert "(a person reading, never heard in training)" in printed

    landmarks = np.load(work / "speech_landmarks.npy")
    seconds = len(load_audio(work / "speech.wav")) / 16000
    assert seconds > 50  # the LibriVox reading
    assert landmarks.shape == (round(seconds * 25), 478, 3) and landmarks.dtype == np.float32
    assert np.isfinite(landmarks).all() and lip_gap(landmarks).std() > 0.1  # the lips move
    curves = np.load(work / "speech_landmarks.blendshapes.npy")
    assert curves.shape == (len(landmarks), 52) and curves[:, 25].std() > 0.02  # jawOpen moves
    assert (work / "curves.png").stat().st_size > 10_000
    times, weights = read_weight_animation(work / "speech_rig.glb")  # the speech on the test rig
    assert len(times) == len(landmarks) and weights[:, 0].std() > 0.05  # jawOpen moves
    assert str(work / "speech_rig.glb") in printed and str(work / "speech_rig.html") in printed
    assert "DATA.push(" in (work / "speech_rig.html").read_text()
    for name in ("speech_landmarks.mp4", "speech_landmarks.html"):
        assert (work / name).stat().st_size > 10_000 and str(work / name) in printed

    stamps = [(work / name).stat().st_mtime_ns for name in REUSED]
    assert main(argv) == 0  # everything reused: data, finished run, its evaluation and export
    assert [(work / name).stat().st_mtime_ns for name in REUSED] == stamps
    lines = (work / "run" / "metrics.jsonl").read_text().splitlines()
    assert max(json.loads(line)["step"] for line in lines) == 1500
    assert not math.isnan(json.loads(lines[-1]).get("loss", 0.0))
