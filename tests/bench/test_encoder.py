"""`talkmesh bench encoder`: runs end to end; its FLOP count agrees with XLA's."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import pytest

from talkmesh_jax.bench.encoder import encoder_flops
from talkmesh_jax.cli import main
from talkmesh_jax.models import attention as attention_module
from talkmesh_jax.models.whisper import WhisperEncoder, WhisperEncoderConfig


def test_flop_count_agrees_with_xla_cost_analysis(monkeypatch) -> None:
    # XLA cannot count the C++ kernel's work, so the attention runs as XLA's sliced formulation;
    # two heads and batch 1: its loop has one iteration, which XLA counts fully.
    monkeypatch.setattr(attention_module, "uses_cpu_kernel", lambda *_: False)
    config = WhisperEncoderConfig(80, 64, 2, 2, 128, 1500)
    mel = jnp.zeros((1, 600, 80))
    module = WhisperEncoder(config)
    params = module.init(jax.random.key(0), mel)
    cost = jax.jit(module.apply).lower(params, mel).compile().cost_analysis()
    xla_flops = (cost[0] if isinstance(cost, list) else cost)["flops"]
    assert abs(encoder_flops(config, 600) - xla_flops) / xla_flops < 0.1


def test_bench_encoder_writes_json(tmp_path, capsys) -> None:
    pytest.importorskip("torch")  # the benchmark's baseline is transformers' PyTorch encoder
    out = tmp_path / "encoder.json"
    args = [
        "bench",
        "encoder",
        "--size",
        "tiny",
        "--batch-size",
        "1",
        "--window-seconds",
        "1",
        "--round-seconds",
        "0.01",
        "--no-progress",
        "--json",
        str(out),
    ]
    assert main(args) == 0
    results = json.loads(out.read_text())
    for key in (
        "torch_padded_audio_s_per_s",
        "jax_padded_audio_s_per_s",
        "jax_window_audio_s_per_s",
    ):
        assert results[key] > 0
    # 1 s windows are a thirtieth of the padded work: far faster (measured ≥ 8x even at 5 s)
    assert results["jax_window_audio_s_per_s"] > 3 * results["jax_padded_audio_s_per_s"]
    assert results["padded_max_abs_diff_jax_vs_torch"] < 1e-3  # same weights, same answer
    attention = results["attention"]
    assert attention["shape_b_t_h_d"] == [1, 1500, 6, 64]
    assert set(attention["calls_per_s"]) == {
        "torch_attention",
        "jax_attention",
        "jax_sliced_attention",
    }
    assert attention["max_abs_diff_jax_vs_torch"] < 1e-4  # the same attention on both sides
    printed = capsys.readouterr().out
    assert "(c) ours, 1 s windows" in printed and "(e) ours (what the encoder calls)" in printed
    assert results["config"]["tf32"] is True and results["machine"]["libraries"]["jax"]
