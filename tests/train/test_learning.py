"""Learning check: the tiny config on `talkmesh synth` data, trained on this CPU in a few minutes,
reaches a held-out LVE at most half that of the static mean face."""

import json

import pytest

from talkmesh_jax.cli import main


@pytest.mark.slow
def test_tiny_config_learns_lip_sync(tmp_path):
    data = tmp_path / "synth"
    assert main(["synth", str(data), "--clips", "40", "--seed", "0", "--no-progress"]) == 0
    run = tmp_path / "run"
    argv = ["train", "--config", "configs/tiny.py", "--workdir", str(run), "--data", str(data)]
    assert main(argv + ["--steps", "500", "--no-progress", "checkpoint.every=250"]) == 0
    out = tmp_path / "eval.json"
    assert main(["eval", "--workdir", str(run), "--json", str(out), "--no-progress"]) == 0
    metrics = json.loads(out.read_text())["metrics"]
    print(json.dumps({k: v["lve"] for k, v in metrics.items()}))
    assert metrics["model"]["lve"] <= 0.5 * metrics["mean_face"]["lve"]
    assert metrics["model"]["lve"] < metrics["close_mouth_face"]["lve"]
