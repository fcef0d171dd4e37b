"""`talkmesh bench train`: every rate of the issue's JSON keys is measured, and the orders of
growth show (teacher forcing beats the original procedure, the cache beats recomputation)."""

from __future__ import annotations

import json

import pytest

from talkmesh_jax.cli import main

SMALL = [
    "data.batch_size=2",
    "data.window_frames=32",
    "model.num_landmarks=468",
    "model.feature_dim=32",
    "model.audio_encoder.conv_channels=16",
    "model.audio_encoder.conv_features=16",
]


@pytest.mark.slow  # compiles the three training modes and two decoders: about 80 s
def test_bench_train_writes_every_rate(tmp_path, capsys) -> None:
    out = tmp_path / "train.json"
    argv = ["bench", "train", "--config", "tiny", "--json", str(out)]
    argv += ["--inference-seconds", "3", "--round-seconds", "0.05", "--no-progress", "--no-anchor"]
    argv += SMALL
    assert main(argv) == 0
    results = json.loads(out.read_text())
    for key in (
        "teacher_forcing_steps_per_s",
        "autoregressive_steps_per_s",
        "original_procedure_steps_per_s",
        "cached_inference_fps",
        "uncached_inference_fps",
    ):
        assert results[key] > 0, key
    assert results["window_frames"] == 32 and results["batch_frames"] == 64
    # 32 frames: the original procedure runs the decoder 32 times on 8-32 frames (measured 9.6x);
    # inference in windows of 32: 32 steps of 1 frame vs of 8-32 frames per window.
    assert results["teacher_forcing_vs_original"] > 3
    assert results["cached_vs_uncached_inference"] > 1.2
    memory = results["step_temp_memory_bytes"]
    assert memory["autoregressive"] < memory["autoregressive_without_remat"]
    for mode in ("teacher_forcing", "autoregressive", "original_procedure"):
        spread = results["rounds"][mode]
        assert spread["min"] <= results[f"{mode}_steps_per_s"] <= spread["max"]
    assert "teacher forcing / original" in capsys.readouterr().out
